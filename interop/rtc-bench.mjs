// libwebrtc → libwebrtc data channel throughput for `cargo xtask bench rtc`.
//
//   node rtc-bench.mjs <MiB> [messageBytes] [highWaterBytes]
//
// Two @roamhq/wrtc RTCPeerConnections in this process, loopback candidates only (handed over
// directly), one ordered reliable channel. The sender writes messageBytes-sized messages while
// bufferedAmount is at or below highWaterBytes, polling bufferedAmount every millisecond
// (@roamhq/wrtc never fires bufferedamountlow). The receiver attaches its handler in
// ondatachannel before the sender starts (libwebrtc drops earlier messages).
// Prints `RESULT bytes=<n> seconds=<s> cpu=<s>` (time from start to the last byte received,
// set-up included; CPU of the whole process, libwebrtc threads included).

import wrtc from '@roamhq/wrtc';

const { RTCPeerConnection } = wrtc;
const mib = Number(process.argv[2] ?? 256);
const messageBytes = Number(process.argv[3] ?? 16 * 1024);
const highWater = Number(process.argv[4] ?? 256 * 1024);
const total = mib * 1024 * 1024;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function isLoopbackCandidate(candidate) {
  const address = candidate.trim().split(/\s+/)[4] ?? '';
  return address.startsWith('127.') || address === '::1';
}

function loopbackOnlySdp(sdp) {
  return sdp
    .split('\r\n')
    .filter((line) => !line.startsWith('a=candidate:') || isLoopbackCandidate(line.slice(2)))
    .join('\r\n');
}

const cpuStart = process.cpuUsage();
const started = process.hrtime.bigint();

const sender = new RTCPeerConnection({ iceServers: [] });
const receiver = new RTCPeerConnection({ iceServers: [] });
for (const [from, to] of [[sender, receiver], [receiver, sender]]) {
  from.onicecandidate = ({ candidate }) => {
    if (candidate && candidate.candidate && isLoopbackCandidate(candidate.candidate)) {
      to.addIceCandidate(candidate).catch(() => {});
    }
  };
}

const done = new Promise((resolve) => {
  receiver.ondatachannel = ({ channel }) => {
    channel.binaryType = 'arraybuffer';
    let received = 0;
    channel.onmessage = (event) => {
      received += event.data.byteLength;
      if (received >= total) resolve(process.hrtime.bigint());
    };
    receiverReady();
  };
});
let receiverReady;
const ready = new Promise((resolve) => {
  receiverReady = resolve;
});

const channel = sender.createDataChannel('bench');
channel.binaryType = 'arraybuffer';
const opened = new Promise((resolve) => {
  channel.onopen = resolve;
});

const offer = await sender.createOffer();
await sender.setLocalDescription(offer);
await receiver.setRemoteDescription({ type: 'offer', sdp: loopbackOnlySdp(sender.localDescription.sdp) });
const answer = await receiver.createAnswer();
await receiver.setLocalDescription(answer);
await sender.setRemoteDescription({ type: 'answer', sdp: loopbackOnlySdp(receiver.localDescription.sdp) });

await opened;
await ready;
const message = new Uint8Array(messageBytes).fill(0xa5);
let written = 0;
while (written < total) {
  if (channel.bufferedAmount > highWater) {
    await sleep(1);
    continue;
  }
  const n = Math.min(messageBytes, total - written);
  channel.send(n === messageBytes ? message : message.subarray(0, n));
  written += n;
}
const finished = await done;
const cpu = process.cpuUsage(cpuStart);
const seconds = Number(finished - started) / 1e9;
console.log(`RESULT bytes=${total} seconds=${seconds.toFixed(4)} cpu=${((cpu.user + cpu.system) / 1e6).toFixed(2)}`);
sender.close();
receiver.close();
setTimeout(() => process.exit(0), 50);
