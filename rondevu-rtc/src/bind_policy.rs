//! Which local addresses the driver binds, announces and talks from, and therefore which
//! remote addresses it will talk to.

use std::net::{IpAddr, Ipv4Addr};

use crate::Error;

/// Where the driver binds its UDP sockets.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum BindPolicy {
    /// 127.0.0.1 only, and only loopback remote candidates (127.0.0.0/8, ::1) are used. For
    /// tests and benchmarks: no datagram ever leaves the machine, nor goes to its own
    /// non-loopback addresses.
    #[default]
    Loopback,
    /// Every usable interface address (IPv4 and global/unique-local IPv6; link-local IPv6
    /// is skipped because it needs a scope id). What a user running a real peer wants.
    All,
    /// Exactly these addresses. When all of them are loopback, the peer is loopback-only,
    /// as with [`BindPolicy::Loopback`].
    Addresses(Vec<IpAddr>),
}

impl BindPolicy {
    /// True when only loopback addresses may be announced, used or talked to.
    pub fn loopback_only(&self) -> bool {
        match self {
            BindPolicy::Loopback => true,
            BindPolicy::All => false,
            BindPolicy::Addresses(addresses) => addresses.iter().all(IpAddr::is_loopback),
        }
    }

    /// The addresses to bind one UDP socket each on.
    ///
    /// `All` enumerates the interfaces with the `if-addrs` crate: `getifaddrs` needs `unsafe`
    /// FFI, which this workspace forbids, and `if-addrs` is small, maintained and portable
    /// (Windows included).
    pub fn local_addresses(&self) -> Result<Vec<IpAddr>, Error> {
        match self {
            BindPolicy::Loopback => Ok(vec![IpAddr::V4(Ipv4Addr::LOCALHOST)]),
            BindPolicy::Addresses(addresses) => Ok(addresses.clone()),
            BindPolicy::All => {
                let interfaces = if_addrs::get_if_addrs()
                    .map_err(|source| Error::io("enumerating network interfaces", source))?;
                let mut addresses: Vec<IpAddr> = interfaces
                    .iter()
                    .map(if_addrs::Interface::ip)
                    .filter(|ip| usable_for_all(*ip))
                    .collect();
                addresses.sort();
                addresses.dedup();
                Ok(addresses)
            }
        }
    }
}

/// Whether `All` binds on `ip`.
fn usable_for_all(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => !v4.is_unspecified() && !v4.is_link_local() && !v4.is_multicast(),
        IpAddr::V6(v6) => {
            let link_local = (v6.segments()[0] & 0xffc0) == 0xfe80;
            !v6.is_unspecified() && !v6.is_multicast() && !link_local
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_policies() {
        assert!(BindPolicy::Loopback.loopback_only());
        assert!(BindPolicy::Addresses(vec!["::1".parse().unwrap()]).loopback_only());
        assert!(!BindPolicy::Addresses(vec!["10.0.0.1".parse().unwrap()]).loopback_only());
        assert!(!BindPolicy::All.loopback_only());
        let loopback = BindPolicy::Loopback.local_addresses().unwrap();
        assert!(loopback.iter().all(IpAddr::is_loopback));
    }

    #[test]
    fn all_enumerates_without_link_local() {
        let addresses = BindPolicy::All.local_addresses().unwrap();
        assert!(addresses.iter().all(|ip| usable_for_all(*ip)));
        assert!(!usable_for_all("fe80::1".parse().unwrap()));
        assert!(!usable_for_all("169.254.1.1".parse().unwrap()));
    }
}
