// Stands in for `webrtc-polyfill` in the browser bundle: the browser's own WebRTC classes.
export const RTCPeerConnection = globalThis.RTCPeerConnection
export const RTCSessionDescription = globalThis.RTCSessionDescription
export const RTCIceCandidate = globalThis.RTCIceCandidate
export default { RTCPeerConnection, RTCSessionDescription, RTCIceCandidate }
