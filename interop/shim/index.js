// Each export is assigned on its own so Node's CJS named-export detection sees it
// (simple-peer does `import { RTCPeerConnection } from 'webrtc-polyfill'`).
const wrtc = require('@roamhq/wrtc')
exports.RTCPeerConnection = wrtc.RTCPeerConnection
exports.RTCSessionDescription = wrtc.RTCSessionDescription
exports.RTCIceCandidate = wrtc.RTCIceCandidate
exports.default = wrtc
