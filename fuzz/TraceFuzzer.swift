// libFuzzer entry point for the trace reader's decoding of untrusted bytes. scripts/fuzz.sh
// compiles it into one module with Sources/TraceFormat, so it reaches the internal decoder.
//
// The first byte picks what the rest is:
//   0: the uncompressed frames of one trace frame, `u32 eventsLength | u32 dataLength |
//      events | data | mmaps` (lengths are cut to what is there), for `EventDecoder`;
//   1: one stream frame, `u32 uncompressedLength | zstd bytes`, for `StreamFrame` with a
//      checksum that matches, as in a trace whose frame header alone was changed.
// Anything that decodes must also survive a round trip through `EventEncoder`.

import CZstd

@_cdecl("LLVMFuzzerTestOneInput")
public func traceFuzzerTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  let input = Array(UnsafeBufferPointer(start: data, count: size))
  guard let mode = input.first else { return 0 }
  let rest = Array(input.dropFirst())
  switch mode {
  case 0: fuzzEventDecoder(rest)
  case 1: fuzzStreamFrame(rest)
  default: break
  }
  return 0
}

private func fuzzEventDecoder(_ input: [UInt8]) {
  var reader = ByteReader(input)
  let eventsLength = Int((try? reader.readUInt32()) ?? 0)
  let dataLength = Int((try? reader.readUInt32()) ?? 0)
  let body = Array(input.dropFirst(reader.position))
  let eventsEnd = min(eventsLength, body.count)
  let dataEnd = min(eventsEnd + dataLength, body.count)
  let frames = (
    events: Array(body[..<eventsEnd]), data: Array(body[eventsEnd..<dataEnd]),
    mmaps: Array(body[dataEnd...])
  )
  guard let events = decodeAll(frames) else { return }
  // What decoded must encode to frames that decode to the same events.
  var encoder = EventEncoder()
  for event in events { encoder.encode(event) }
  let again = decodeAll(
    (events: encoder.events.bytes, data: encoder.data.bytes, mmaps: encoder.mmaps.bytes))
  guard let again, again == events else {
    fatalError("round trip changed \(events) into \(String(describing: again))")
  }
}

/// Every event of the frame, or nil when the decoder rejected it.
private func decodeAll(_ frames: (events: [UInt8], data: [UInt8], mmaps: [UInt8]))
  -> [TraceEvent]?
{
  var decoder = EventDecoder(events: frames.events, data: frames.data, mmaps: frames.mmaps)
  var events: [TraceEvent] = []
  do {
    while let event = try decoder.next() { events.append(event) }
  } catch {
    _ = error.reason
    return nil
  }
  return events
}

private let context = ZSTD_createDCtx()!

private func fuzzStreamFrame(_ input: [UInt8]) {
  var reader = ByteReader(input)
  guard let uncompressedLength = try? reader.readUInt32() else { return }
  let body = Array(input.dropFirst(reader.position))
  let header = StreamFrame.Header(
    compressedLength: UInt32(body.count), uncompressedLength: uncompressedLength,
    checksum: body.withUnsafeBytes { StreamFrame.checksum($0) })
  if StreamFrame.plausibilityDefect(header) != nil { return }
  if case .success(let bytes) = StreamFrame.decode(header, body: body, context: context),
    bytes.count != Int(uncompressedLength)
  {
    fatalError("a frame decoded to \(bytes.count) bytes, its header says \(uncompressedLength)")
  }
}
