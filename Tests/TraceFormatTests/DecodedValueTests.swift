import Foundation
import Testing

@testable import TraceFormat

/// Values that frame well but that no recording writes: the decoder must call them damaged,
/// naming the event and the field, because replay would trap on them or act on them.
@Suite struct DecodedValueTests {
  /// The frames of `event` encoded alone, decoded back.
  func decode(_ event: TraceEvent) throws(EventDecoder.Failure) -> TraceEvent? {
    var encoder = EventEncoder()
    encoder.encode(event)
    var decoder = EventDecoder(
      events: encoder.events.bytes, data: encoder.data.bytes, mmaps: encoder.mmaps.bytes)
    return try decoder.next()
  }

  func expectRejected(
    _ event: TraceEvent, saying words: [String], sourceLocation: SourceLocation = #_sourceLocation
  ) {
    do {
      let decoded = try decode(event)
      Issue.record("decoded \(String(describing: decoded))", sourceLocation: sourceLocation)
    } catch {
      for word in words + ["event \(event.index)"] {
        #expect(error.reason.contains(word), "\(error.reason)", sourceLocation: sourceLocation)
      }
    }
  }

  func signal(_ change: (inout SignalEvent) -> Void) -> TraceEvent {
    var event = SignalEvent(
      index: 12, tid: 100, signal: 14, code: 0x80, siginfo: Array(repeating: 0, count: 128),
      registers: registers(seed: 1))
    change(&event)
    return .signal(event)
  }

  func exec(_ change: (inout ExecEvent) -> Void) -> TraceEvent {
    guard case .exec(var event) = everyKindOfEvent()[0] else { fatalError("not an exec") }
    change(&event)
    return .exec(event)
  }

  @Test func everyKindOfEventAsRecordedPasses() throws {
    for event in everyKindOfEvent() { #expect(try decode(event) == event) }
  }

  /// Version 4: the patched vDSO rides in the exec record; traces without it (older ones,
  /// or where the vDSO was hidden) decode to nil.
  @Test func anExecsVDSOIsKeptAndChecked() throws {
    let image = (0..<8192).map { UInt8(truncatingIfNeeded: $0 &* 7) }
    let withVDSO = exec { $0.vdso = MemoryChunk(address: 0x7fff_f7fc_1000, bytes: image) }
    #expect(try decode(withVDSO) == withVDSO)
    let plain = try decode(exec { $0.vdso = nil })
    guard case .exec(let decoded)? = plain else {
      Issue.record("decoded \(String(describing: plain))")
      return
    }
    #expect(decoded.vdso == nil)
    expectRejected(exec { $0.vdso = MemoryChunk(address: 0x7fff_f7fc_1000, bytes: [1, 2, 3]) }, saying: ["its vDSO is 3 bytes"])
    expectRejected(exec { $0.vdso = MemoryChunk(address: 0x7fff_f7fc_1001, bytes: image) }, saying: ["its vDSO is 8192 bytes at 0x7ffff7fc1001"])
  }

  @Test func codePointWordsOfOtherSizesAreRejected() {
    for size: UInt8 in [0, 3, 9, 255] {
      expectRejected(
        signal { $0.memory = [CodePointMemory(address: 0x1000, size: size, value: 0)] },
        saying: ["memory word at 0x1000 has size \(size)"])
    }
    expectRejected(
      .preemption(
        PreemptionEvent(
          index: 3, tid: 1, registers: Registers(),
          memory: [CodePointMemory(address: 0x1000, size: 2, value: 0x1_0000)])),
      saying: ["of 2 bytes holds 0x10000"])
    expectRejected(
      .preemption(
        PreemptionEvent(
          index: 4, tid: 1, registers: Registers(),
          memory: [CodePointMemory(address: .max - 3, size: 8, value: 0)])),
      saying: ["past the end of the address space"])
  }

  @Test func aStackSignatureOfAnotherLengthIsRejected() {
    for length in [8, 100, 1024] {
      expectRejected(
        .preemption(PreemptionEvent(index: 5, tid: 1, registers: Registers(), stack: StackSignature(bytes: Array(repeating: 1, count: length)))),
        saying: ["stack signature holds \(length) bytes"])
    }
  }

  @Test func reachedMemoryOfAnotherShapeIsRejected() {
    let stack = StackSignature(bytes: Array(repeating: 1, count: 64))
    for length in [0, 4, 12, 33, 100] {
      expectRejected(
        .preemption(
          PreemptionEvent(
            index: 6, tid: 1, registers: Registers(), stack: stack,
            reached: [MemoryChunk(address: 0x1000, bytes: Array(repeating: 2, count: length))])),
        saying: ["reached memory holds \(length) bytes"])
    }
    let tooMany = (0...ReachedMemory.chunkLimit).map { MemoryChunk(address: 0x1000 + UInt64($0) * 32, bytes: Array(repeating: 3, count: 8)) }
    expectRejected(
      .preemption(PreemptionEvent(index: 7, tid: 1, registers: Registers(), stack: stack, reached: tooMany)),
      saying: ["reached memory has \(ReachedMemory.chunkLimit + 1) chunks"])
  }

  @Test func aSiginfoOfAnotherSizeIsRejected() {
    for size in [0, 100, 129] {
      expectRejected(
        signal { $0.siginfo = Array(repeating: 1, count: size) },
        saying: ["siginfo is \(size) bytes"])
    }
  }

  @Test func signalNumbersOutsideLinuxsAreRejected() {
    for number: Int32 in [0, -1, 65, .max] {
      expectRejected(signal { $0.signal = number }, saying: ["signal number \(number)"])
      expectRejected(
        .exit(ExitEvent(index: 9, tid: 5, status: .killed(signal: number, coreDumped: false))),
        saying: ["signal number \(number)"])
    }
  }

  @Test func aThreadIDThatIsNotPositiveIsRejected() {
    expectRejected(
      .exit(ExitEvent(index: 2, tid: 0, status: .exited(code: 0))), saying: ["thread id is 0"])
  }

  @Test func aChunkPastTheAddressSpaceIsRejected() {
    expectRejected(
      .memoryWrite(
        MemoryWriteEvent(
          index: 7, tid: 1, chunks: [MemoryChunk(address: .max - 1, bytes: [1, 2, 3])])),
      saying: ["3 bytes at 0xfffffffffffffffe runs past the end"])
  }

  @Test func anEchoToAnotherDescriptorIsRejected() {
    expectRejected(
      .syscall(SyscallEvent(index: 8, tid: 1, entryRegisters: Registers(), result: 1, echoFD: 3)),
      saying: ["descriptor 3"])
  }

  @Test func aContentHashThatIsNotOneIsRejected() {
    for hash in ["../../etc/passwd", "", String(repeating: "A", count: 32)] {
      expectRejected(
        .syscall(
          SyscallEvent(
            index: 10, tid: 1, entryRegisters: Registers(), result: 0x7000_0000,
            mappedFile: MappedFile(contentHash: hash, originalPath: "/lib/x", fileSize: 1))),
        saying: ["content hash is \"\(hash)\""])
    }
  }

  @Test func damagedInitialMappingsAreRejected() {
    let cases: [(InitialMapping, String)] = [
      (
        InitialMapping(
          start: 0x2000, end: 0x1000, permissions: "r--p", fileOffset: 0, file: nil, name: ""),
        "spans 0x2000-0x1000"
      ),
      (
        InitialMapping(
          start: 0x1000, end: 0x1800, permissions: "r--p", fileOffset: 0, file: nil, name: ""),
        "spans 0x1000-0x1800"
      ),
      (
        InitialMapping(
          start: 0x1000, end: 0x2000, permissions: "rwxq", fileOffset: 0, file: nil, name: ""),
        "permissions are \"rwxq\""
      ),
    ]
    for (mapping, words) in cases {
      expectRejected(exec { $0.mappings = [mapping] }, saying: [words])
    }
  }

  @Test func anInitialStackTooSmallForItsArgcIsRejected() {
    let argc: [UInt8] = [0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]
    expectRejected(
      exec { $0.initialStack.bytes = argc + Array(repeating: 0, count: 64) },
      saying: ["argc is 4294967295"])
    expectRejected(exec { $0.initialStack.bytes = [1, 2, 3] }, saying: ["too few to hold argc"])
  }
}
