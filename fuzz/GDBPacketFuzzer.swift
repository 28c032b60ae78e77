// libFuzzer entry point for what gdb sends: the packet decoder and the request parser.
// scripts/fuzz.sh compiles it into one module with Sources/GDBRemote.
//
// The bytes are the stream from gdb. Fed whole, and again in chunks of 1 to 8 bytes (the
// size taken from the input's length), they must decode to the same frames: the socket may
// deliver any chunks. Every packet is parsed.

@_cdecl("LLVMFuzzerTestOneInput")
public func gdbPacketFuzzerTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  let input = Array(UnsafeBufferPointer(start: data, count: size))
  // A small maximum lets the fuzzer reach the overflow path with short inputs.
  var whole = PacketDecoder(maximumPacketSize: 256)
  let frames = whole.feed(input)
  var chunked = PacketDecoder(maximumPacketSize: 256)
  var again: [PacketDecoder.Frame] = []
  let chunk = input.count % 8 + 1
  for start in stride(from: 0, to: input.count, by: chunk) {
    again += chunked.feed(input[start..<min(start + chunk, input.count)])
  }
  if frames != again { fatalError("chunking changed \(frames) into \(again)") }
  for frame in frames {
    _ = frame.description
    _ = whole.acknowledgement(for: frame)
    guard case .packet(let payload) = frame else { continue }
    do {
      _ = try GDBRequest(parsing: payload)
    } catch {
      _ = error.description
    }
  }
  return 0
}
