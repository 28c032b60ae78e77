import Foundation
import Testing

@testable import TraceFormat

/// A fresh directory under /tmp, removed when the test's closure returns.
func withTemporaryDirectory<T>(_ body: (String) throws -> T) throws -> T {
  let path = NSTemporaryDirectory() + "rewind-tf-\(UUID().uuidString)"
  try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  defer { try? FileManager.default.removeItem(atPath: path) }
  return try body(path)
}

func sampleHeader() -> TraceHeader {
  TraceHeader(
    command: ["/bin/true", "--flag"], cwd: "/home/me", syscallTableHash: "abc123",
    rewindVersion: "0.1.0-test")
}

func registers(seed: UInt64) -> Registers {
  Registers(words: (0..<UInt64(Registers.count)).map { $0 &* 0x1_0000_0001 &+ seed })
}

func mappedFile(_ name: String) -> MappedFile {
  MappedFile(contentHash: String(repeating: "ab", count: 16), originalPath: name, fileSize: 4096)
}

/// One event of every kind, with the edge cases of each (empty and large chunks, no file).
func everyKindOfEvent() -> [TraceEvent] {
  let megabyte = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
  var exitRegisters = registers(seed: 7)
  exitRegisters.rax = 0xffff_ffff_ffff_ffda
  return [
    .exec(
      ExecEvent(
        index: 0, tid: 100, executable: mappedFile("/usr/bin/prog"), registers: registers(seed: 1),
        // argc 3, then bytes that stand for the rest of a stack.
        initialStack: MemoryChunk(
          address: 0x7fff_f000, bytes: [3, 0, 0, 0, 0, 0, 0, 0] + Array(repeating: 9, count: 292)),
        mappings: [
          InitialMapping(
            start: 0x40_0000, end: 0x40_1000, permissions: "r-xp", fileOffset: 0,
            file: mappedFile("/usr/bin/prog"), name: "/usr/bin/prog"),
          InitialMapping(
            start: 0x7fff_0000, end: 0x7fff_f000, permissions: "rw-p", fileOffset: 0, file: nil,
            name: "[stack]"),
        ],
        argv: ["prog", "ünïcode", ""], envp: ["A=1"], cwd: "/tmp")),
    .syscall(
      SyscallEvent(
        index: 1, tid: 100, entryRegisters: registers(seed: 2), result: 5,
        inputs: [MemoryChunk(address: 0x1000, bytes: Array("/etc/passwd\0".utf8))],
        outputs: [
          MemoryChunk(address: 0x2000, bytes: []), MemoryChunk(address: 0x3000, bytes: megabyte),
        ])),
    .syscall(
      SyscallEvent(
        index: 2, tid: 101, entryRegisters: exitRegisters, result: -38,
        mappedFile: mappedFile("/usr/lib/libc.so.6"))),
    .syscall(SyscallEvent(index: 3, tid: 101, entryRegisters: exitRegisters, result: 0)),
    .syscall(SyscallEvent(index: 3, tid: 101, entryRegisters: exitRegisters, result: -28, outputsWrittenLater: true, injected: true)),
    .signal(
      SignalEvent(
        index: 4, tid: 100, signal: 11, code: 1, siginfo: (0..<128).map { UInt8($0) },
        registers: registers(seed: 3))),
    .signal(
      SignalEvent(
        index: 4, tid: 100, signal: 14, code: 0x80, siginfo: Array(repeating: 7, count: 128),
        registers: registers(seed: 4),
        memory: [
          CodePointMemory(address: 0x5555_5555_8034, size: 4, value: 17),
          CodePointMemory(address: 0x7fff_ffff_e000, size: 8, value: .max),
        ],
        stack: StackSignature(bytes: (0..<64).map { UInt8($0 * 3 & 0xff) }),
        reached: [MemoryChunk(address: 0x5555_5555_9000, bytes: (0..<32).map { UInt8($0) })])),
    .preemption(
      PreemptionEvent(
        index: 4, tid: 101, registers: registers(seed: 5), memory: [CodePointMemory(address: 0x1000, size: 1, value: 0xff)],
        stack: StackSignature(bytes: (0..<512).map { UInt8($0 & 0xff) }),
        reached: [
          MemoryChunk(address: 0x7fff_f000_0010, bytes: Array(repeating: 9, count: 8)),
          MemoryChunk(address: 0x5555_5555_a000, bytes: Array(repeating: 5, count: 32)),
        ])),
    .preemption(PreemptionEvent(index: 4, tid: 100, registers: registers(seed: 6))),
    .rdtsc(RdtscEvent(index: 5, tid: 100, rip: 0x40_1234, isRdtscp: true, value: .max, aux: 3)),
    .rdtsc(RdtscEvent(index: 6, tid: 100, rip: 0x40_1236, isRdtscp: false, value: 0, aux: 0)),
    .exit(ExitEvent(index: 7, tid: 101, status: .killed(signal: 9, coreDumped: true))),
    .exit(ExitEvent(index: 8, tid: 100, status: .exited(code: -1))),
  ]
}

/// A small syscall event such as a recorder writes most of the time.
func smallSyscall(_ index: UInt64) -> TraceEvent {
  var regs = registers(seed: 11)
  regs.rip = 0x40_0000 + index % 64
  regs.rax = index
  return .syscall(
    SyscallEvent(
      index: index, tid: Int32(100 + index % 3), entryRegisters: regs, result: Int64(index % 100),
      outputs: index % 4 == 0
        ? [MemoryChunk(address: 0x1000, bytes: [UInt8(index & 0xff), 1, 2, 3])] : []))
}

func writeTrace(
  _ directory: String, _ events: [TraceEvent], frameByteTarget: Int = 256 * 1024,
  finish: Bool = true
) throws -> TraceWriter {
  let writer = try TraceWriter(
    directory: directory, header: sampleHeader(), frameByteTarget: frameByteTarget,
    flushInterval: 0.1)
  for event in events { writer.append(event) }
  if finish { try writer.finish(summary: TraceSummary(exitStatus: .exited(code: 0))) }
  return writer
}

func readAll(_ reader: TraceReader) throws -> [TraceEvent] {
  var events: [TraceEvent] = []
  while let event = try reader.nextEvent() { events.append(event) }
  return events
}

/// (offset, total length) of each frame in a stream file, from the frame headers.
func frames(ofStream path: String) throws -> [(offset: Int, length: Int)] {
  let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
  var result: [(Int, Int)] = []
  var offset = 0
  while offset + 12 <= bytes.count {
    let compressed = bytes[offset..<offset + 4].enumerated().reduce(0) {
      $0 | Int($1.element) << (8 * $1.offset)
    }
    result.append((offset, 12 + compressed))
    offset += 12 + compressed
  }
  return result
}
