//! Property test of the byte-stream adapter over a real loopback connection: whatever the
//! sizes of the writes and of the read buffers, the reader gets exactly the bytes written.

use std::cell::RefCell;
use std::time::Duration;

use proptest::collection::vec;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use rondevu_rtc::{DataStream, Driver, DriverConfig, PeerHandle, PeerNotice};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn connected_pair() -> (Vec<PeerHandle>, DataStream, DataStream) {
    let driver = Driver::start(DriverConfig::default()).await.unwrap();
    let other = Driver::start(DriverConfig::default()).await.unwrap();
    let mut offerer = driver.new_peer().unwrap();
    let mut answerer = other.new_peer().unwrap();
    let offer = offerer.create_offer().await.unwrap();
    let answer = answerer.accept_offer(&offer).await.unwrap();
    offerer.accept_answer(&answer).await.unwrap();
    let (mut a, mut b) = (None, None);
    while a.is_none() || b.is_none() {
        tokio::select! {
            notice = offerer.next_notice() => match notice.unwrap() {
                PeerNotice::LocalCandidate(c) => { answerer.add_remote_candidate(c).await.unwrap(); }
                PeerNotice::Open(stream) => a = Some(stream),
                PeerNotice::Failed(reason) => panic!("{reason}"),
                _ => {}
            },
            notice = answerer.next_notice() => match notice.unwrap() {
                PeerNotice::LocalCandidate(c) => { offerer.add_remote_candidate(c).await.unwrap(); }
                PeerNotice::Open(stream) => b = Some(stream),
                PeerNotice::Failed(reason) => panic!("{reason}"),
                _ => {}
            },
        }
    }
    (vec![offerer, answerer], a.unwrap(), b.unwrap())
}

#[test]
fn the_reader_gets_exactly_the_bytes_written_for_any_split_pattern() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (_handles, writer, reader) = runtime.block_on(connected_pair());
    let streams = RefCell::new((writer, reader));
    let case = std::cell::Cell::new(0u8);
    let mut runner = TestRunner::new(Config::with_cases(32));
    runner
        .run(
            &(vec(1usize..40_000, 1..20), vec(1usize..70_000, 1..6)),
            |(writes, reads)| {
                case.set(case.get().wrapping_add(1));
                let seed = case.get();
                let total: usize = writes.iter().sum();
                let data: Vec<u8> = (0..total)
                    .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
                    .collect();
                let (writer, reader) = &mut *streams.borrow_mut();
                let received = runtime.block_on(async {
                    let write = async {
                        let mut at = 0;
                        for size in &writes {
                            writer.write_all(&data[at..at + size]).await.unwrap();
                            at += size;
                        }
                        writer.flush().await.unwrap();
                    };
                    let read = async {
                        let mut received = Vec::with_capacity(total);
                        let mut sizes = reads.iter().cycle();
                        while received.len() < total {
                            let want = (*sizes.next().unwrap()).min(total - received.len());
                            let mut buf = vec![0u8; want];
                            let n = reader.read(&mut buf).await.unwrap();
                            assert!(n > 0, "stream ended early");
                            received.extend_from_slice(&buf[..n]);
                        }
                        received
                    };
                    let deadline = Duration::from_secs(20);
                    tokio::time::timeout(deadline, async { tokio::join!(write, read).1 })
                        .await
                        .expect("case finished in time")
                });
                if received != data {
                    return Err(TestCaseError::fail("received bytes differ from written"));
                }
                Ok(())
            },
        )
        .unwrap();
}
