// A libwebrtc (@roamhq/wrtc) peer for rondevu-rtc's interop tests.
//
// Talks JSON lines: signaling on stdin/stdout, logs on stderr.
//   node rtc-peer.mjs --role offer|answer --bytes N [--candidates trickle|none] [--label L]
//
// Out (stdout): {"type":"offer"|"answer","sdp"}, {"type":"candidate","candidate":{RTCIceCandidateInit}},
//               {"type":"ready","label"} once its channel is open and its handlers are attached,
//               {"type":"received","ok":bool,"bytes":N} once N bytes arrived (checked against the pattern),
//               {"type":"sent","bytes":N} once all N bytes are handed to the channel.
// In (stdin):   {"type":"offer"|"answer","sdp"}, {"type":"candidate","candidate":{...}}, {"type":"bye"}.
//
// Each side sends N bytes of a fixed pattern: byte i is ((i * 2654435761 mod 2^32) >> 16) & 0xff,
// XOR 0x4a ('J') from this script, XOR 0x52 ('R') from the Rust side.
//
// Network safety: only loopback candidates (127.0.0.0/8, ::1) are ever passed to the other side,
// in trickle messages and in the SDP; with --candidates none, no candidate is passed at all.
// @roamhq/wrtc never fires `bufferedamountlow`, so the sender polls `bufferedAmount`.

import readline from 'node:readline';
import wrtc from '@roamhq/wrtc';

const { RTCPeerConnection } = wrtc;

function parseArgs(argv) {
  const args = { role: 'answer', bytes: 1 << 20, candidates: 'trickle', label: 'webtorrent' };
  for (let i = 2; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '');
    args[key] = argv[i + 1];
  }
  args.bytes = Number(args.bytes);
  return args;
}

const args = parseArgs(process.argv);
const MESSAGE_SIZE = 16 * 1024;
const HIGH_WATER = 1024 * 1024;
const SEED_OUT = 0x4a;
const SEED_IN = 0x52;

const out = (message) => process.stdout.write(JSON.stringify(message) + '\n');
const log = (...parts) => process.stderr.write(`[rtc-peer ${args.role}] ${parts.join(' ')}\n`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export function patternByte(i, seed) {
  return ((Math.imul(i, 2654435761) >>> 16) & 0xff) ^ seed;
}

function isLoopbackCandidate(candidate) {
  const address = candidate.trim().split(/\s+/)[4] ?? '';
  return address.startsWith('127.') || address === '::1';
}

function loopbackOnlySdp(sdp) {
  return sdp
    .split('\r\n')
    .filter((line) => !line.startsWith('a=candidate:') || (args.candidates !== 'none' && isLoopbackCandidate(line.slice(2))))
    .join('\r\n');
}

const pc = new RTCPeerConnection({ iceServers: [] });
let remoteDescriptionSet = false;
const earlyCandidates = [];

pc.onicecandidate = ({ candidate }) => {
  if (!candidate || !candidate.candidate || args.candidates === 'none') return;
  if (!isLoopbackCandidate(candidate.candidate)) return;
  out({
    type: 'candidate',
    candidate: {
      candidate: candidate.candidate,
      sdpMid: candidate.sdpMid,
      sdpMLineIndex: candidate.sdpMLineIndex,
      usernameFragment: candidate.usernameFragment ?? null,
    },
  });
};
pc.oniceconnectionstatechange = () => log('ice', pc.iceConnectionState);
pc.onconnectionstatechange = () => log('connection', pc.connectionState);

let received = 0;
let receivedOk = true;
let sentAll = false;
let receivedAll = args.bytes === 0;

function onMessage(event) {
  const bytes = new Uint8Array(event.data);
  for (let j = 0; j < bytes.length; j += 1) {
    if (bytes[j] !== patternByte(received + j, SEED_IN)) receivedOk = false;
  }
  received += bytes.length;
  if (received >= args.bytes && !receivedAll) {
    receivedAll = true;
    out({ type: 'received', ok: receivedOk && received === args.bytes, bytes: received });
  }
}

async function sendAll(channel) {
  const data = new Uint8Array(args.bytes);
  for (let i = 0; i < data.length; i += 1) data[i] = patternByte(i, SEED_OUT);
  let offset = 0;
  while (offset < data.length) {
    if (channel.readyState !== 'open') throw new Error(`channel ${channel.readyState} while sending`);
    if (channel.bufferedAmount > HIGH_WATER) {
      await sleep(1);
      continue;
    }
    const end = Math.min(offset + MESSAGE_SIZE, data.length);
    channel.send(data.subarray(offset, end));
    offset = end;
  }
  sentAll = true;
  out({ type: 'sent', bytes: data.length });
}

function useChannel(channel) {
  channel.binaryType = 'arraybuffer';
  channel.onmessage = onMessage;
  channel.onclose = () => log('channel closed');
  const start = () => {
    out({ type: 'ready', label: channel.label });
    sendAll(channel).catch((error) => {
      log('send failed:', error.message);
      process.exit(1);
    });
  };
  if (channel.readyState === 'open') start();
  else channel.onopen = start;
}

async function addRemoteCandidate(init) {
  if (!remoteDescriptionSet) {
    earlyCandidates.push(init);
    return;
  }
  try {
    await pc.addIceCandidate(init);
  } catch (error) {
    log('addIceCandidate failed:', error.message, JSON.stringify(init));
  }
}

async function setRemote(type, sdp) {
  await pc.setRemoteDescription({ type, sdp });
  remoteDescriptionSet = true;
  for (const init of earlyCandidates.splice(0)) await addRemoteCandidate(init);
}

async function onLine(line) {
  if (!line.trim()) return;
  const message = JSON.parse(line);
  switch (message.type) {
    case 'offer': {
      await setRemote('offer', message.sdp);
      const answer = await pc.createAnswer();
      await pc.setLocalDescription(answer);
      out({ type: 'answer', sdp: loopbackOnlySdp(pc.localDescription.sdp) });
      break;
    }
    case 'answer':
      await setRemote('answer', message.sdp);
      break;
    case 'candidate':
      await addRemoteCandidate(message.candidate);
      break;
    case 'bye':
      shutdown(0);
      break;
    default:
      log('unknown message', line);
  }
}

function shutdown(code) {
  pc.close();
  // Give libwebrtc a moment to tear down its threads before leaving.
  setTimeout(() => process.exit(code), 50);
}

const lines = readline.createInterface({ input: process.stdin });
let queue = Promise.resolve();
lines.on('line', (line) => {
  queue = queue.then(() => onLine(line)).catch((error) => {
    log('failed:', error.stack ?? error.message);
    process.exit(1);
  });
});
lines.on('close', () => shutdown(sentAll && receivedAll ? 0 : 1));

if (args.role === 'offer') {
  useChannel(pc.createDataChannel(args.label));
  const offer = await pc.createOffer();
  await pc.setLocalDescription(offer);
  out({ type: 'offer', sdp: loopbackOnlySdp(pc.localDescription.sdp) });
} else {
  pc.ondatachannel = ({ channel }) => useChannel(channel);
}
