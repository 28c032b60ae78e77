// Writes seed inputs for TraceFuzzer.swift from recorded traces: a few events of each kind,
// encoded alone or with their neighbours (mode 0), and whole compressed frames (mode 1).
// scripts/fuzz.sh --make-trace-seeds OUTPUT TRACE... compiles and runs it; the seeds in
// fuzz/corpus/trace came from the fixtures exit_code, raise_usr1, memory_only_loop, clocks,
// spin_handoff, shared_read_poll, sendfile_stdout and mmap_file.

#if canImport(Glibc)
  import Glibc
#endif
import Foundation

@main enum MakeTraceSeeds {
  /// Seeds stay small: libFuzzer mutates short inputs much faster.
  static let maximumSeedSize = 8192

  static func main() throws {
    let arguments = CommandLine.arguments.dropFirst()
    guard let output = arguments.first, arguments.count > 1 else {
      print("usage: make-trace-seeds OUTPUT-DIRECTORY TRACE...")
      exit(2)
    }
    try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
    var written = 0
    // Two seeds for each kind of record, told apart by the optional parts they carry.
    var perKind: [String: Int] = [:]
    for trace in arguments.dropFirst() {
      let name = URL(fileURLWithPath: trace).lastPathComponent
      let reader = try TraceReader(directory: trace)
      var events: [TraceEvent] = []
      while let event = try reader.nextEvent() { events.append(event) }
      for (position, event) in events.enumerated() {
        let key = kind(of: event)
        guard perKind[key, default: 0] < 2 else { continue }
        let group = Array(events[position..<min(events.count, position + 3)])
        for (suffix, chosen) in [("", [event]), ("-run", group)] {
          let seed = modeZero(chosen)
          guard seed.count <= maximumSeedSize else { continue }
          let path = "\(output)/\(name)-\(key)-\(perKind[key, default: 0])\(suffix)"
          try Data(seed).write(to: URL(fileURLWithPath: path))
          written += 1
        }
        perKind[key, default: 0] += 1
      }
      for stream in ["events", "mmaps"] {
        if let seed = try firstFrame(of: trace + "/" + stream), seed.count <= maximumSeedSize {
          try Data(seed).write(to: URL(fileURLWithPath: "\(output)/\(name)-\(stream)-frame"))
          written += 1
        }
      }
    }
    print("wrote \(written) seeds to \(output)")
  }

  static func kind(of event: TraceEvent) -> String {
    switch event {
    case .exec: return "exec"
    case .syscall(let e):
      return "syscall" + (e.mappedFile != nil ? "-file" : "")
        + (e.passedThrough != nil ? "-passed" : "") + (e.outputs.isEmpty ? "" : "-outputs")
        + (e.echoFD != nil ? "-echo" : "") + (e.outputsWrittenLater ? "-later" : "")
    case .signal(let e): return "signal" + (e.memory.isEmpty ? "" : "-words")
    case .rdtsc: return "rdtsc"
    case .exit: return "exit"
    case .preemption(let e): return "preemption" + (e.memory.isEmpty ? "" : "-words")
    case .memoryWrite: return "memoryWrite"
    }
  }

  /// `0 | u32 eventsLength | u32 dataLength | events | data | mmaps`.
  static func modeZero(_ events: [TraceEvent]) -> [UInt8] {
    var encoder = EventEncoder()
    for event in events { encoder.encode(event) }
    var seed = ByteWriter()
    seed.write(UInt8(0))
    seed.write(UInt32(encoder.events.count))
    seed.write(UInt32(encoder.data.count))
    seed.writeRaw(encoder.events.bytes)
    seed.writeRaw(encoder.data.bytes)
    seed.writeRaw(encoder.mmaps.bytes)
    return seed.bytes
  }

  /// `1 | u32 uncompressedLength | zstd bytes` of the stream's first frame.
  static func firstFrame(of path: String) throws -> [UInt8]? {
    let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    guard bytes.count >= StreamFrame.headerSize else { return nil }
    let header = StreamFrame.parseHeader(Array(bytes[..<StreamFrame.headerSize]))
    let end = StreamFrame.headerSize + Int(header.compressedLength)
    guard header.compressedLength > 0, end <= bytes.count else { return nil }
    var seed = ByteWriter()
    seed.write(UInt8(1))
    seed.write(header.uncompressedLength)
    seed.writeRaw(Array(bytes[StreamFrame.headerSize..<end]))
    return seed.bytes
  }
}
