//! Path safety: file names from a torrent become paths that stay inside the output folder.
//!
//! A torrent names its files as lists of components. Each component is checked on its own,
//! on every platform, before anything is written: no empty, `.` or `..` component, no
//! separator (`/`, `\`), no NUL, no drive colon, and none of the names Windows reserves.

use std::path::{Path, PathBuf};

/// Why a path component from a torrent was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnsafeComponent {
    /// The component is the empty string (an absolute path or a doubled separator).
    #[error("empty component")]
    Empty,
    /// The component is `.` or `..`.
    #[error("`{0}` is a relative-path component")]
    Dot(String),
    /// The component contains a path separator, a NUL byte or a drive colon.
    #[error("`{component}` contains the forbidden character {forbidden:?}")]
    ForbiddenCharacter {
        /// The component as the torrent gave it.
        component: String,
        /// The character that is not allowed inside a component.
        forbidden: char,
    },
    /// The component is a device name Windows reserves (`CON`, `NUL`, `COM1`…).
    #[error("`{0}` is a reserved device name")]
    Reserved(String),
    /// The component ends in a dot or a space, which Windows strips silently.
    #[error("`{0}` ends in a dot or a space")]
    TrailingDotOrSpace(String),
}

/// A torrent file path whose components have all been checked: joined onto a folder, it
/// names a place inside that folder.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SafeRelativePath {
    components: Vec<String>,
}

/// Device names that Windows reserves with or without an extension.
const RESERVED_NAMES: &[&str] = &[
    "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8",
    "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9", "CONIN$",
    "CONOUT$",
];

/// Checks one component of a torrent file path.
pub fn check_component(component: &str) -> Result<(), UnsafeComponent> {
    if component.is_empty() {
        return Err(UnsafeComponent::Empty);
    }
    if component == "." || component == ".." {
        return Err(UnsafeComponent::Dot(component.to_string()));
    }
    if let Some(forbidden) = component
        .chars()
        .find(|c| matches!(c, '/' | '\\' | '\0' | ':'))
    {
        return Err(UnsafeComponent::ForbiddenCharacter {
            component: component.to_string(),
            forbidden,
        });
    }
    if component.ends_with('.') || component.ends_with(' ') {
        return Err(UnsafeComponent::TrailingDotOrSpace(component.to_string()));
    }
    let stem = component.split('.').next().unwrap_or(component);
    if RESERVED_NAMES
        .iter()
        .any(|reserved| stem.eq_ignore_ascii_case(reserved))
    {
        return Err(UnsafeComponent::Reserved(component.to_string()));
    }
    Ok(())
}

impl SafeRelativePath {
    /// Checks every component; an empty list is refused like an empty component.
    pub fn new(components: &[String]) -> Result<Self, UnsafeComponent> {
        if components.is_empty() {
            return Err(UnsafeComponent::Empty);
        }
        for component in components {
            check_component(component)?;
        }
        Ok(Self {
            components: components.to_vec(),
        })
    }

    /// The checked components, in order.
    pub fn components(&self) -> &[String] {
        &self.components
    }

    /// This path below `root`.
    pub fn under(&self, root: &Path) -> PathBuf {
        let mut path = root.to_path_buf();
        path.extend(&self.components);
        path
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn refused(components: &[&str]) -> bool {
        let owned: Vec<String> = components.iter().map(|c| c.to_string()).collect();
        SafeRelativePath::new(&owned).is_err()
    }

    #[test]
    fn refuses_escapes_and_reserved_names() {
        assert!(refused(&[]));
        assert!(refused(&[""]));
        assert!(refused(&[".."]));
        assert!(refused(&["a", "..", "b"]));
        assert!(refused(&["."]));
        assert!(refused(&["/etc/passwd"]));
        assert!(refused(&["a/../../b"]));
        assert!(refused(&["..\\..\\windows"]));
        assert!(refused(&["C:"]));
        assert!(refused(&["nul\0byte"]));
        assert!(refused(&["con"]));
        assert!(refused(&["Com1.txt"]));
        assert!(refused(&["trailing."]));
        assert!(!refused(&["music", "track 01.flac"]));
        assert!(!refused(&["..hidden-ish"]));
        assert!(!refused(&["console.log"]));
    }

    proptest! {
        /// Whatever a torrent says, an accepted path joined onto a folder stays below it.
        #[test]
        fn accepted_paths_stay_inside(components in proptest::collection::vec(".{0,12}", 1..5)) {
            if let Ok(path) = SafeRelativePath::new(&components) {
                let root = Path::new("/srv/out");
                let joined = path.under(root);
                prop_assert!(joined.starts_with(root));
                prop_assert_eq!(joined.components().count(), root.components().count() + components.len());
            }
        }
    }
}
