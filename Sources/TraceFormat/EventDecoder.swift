/// Reads back the events of one frame, the inverse of `EventEncoder` (whose doc comment holds
/// the record layout).
///
/// The decoder owns the three uncompressed frames; `next()` takes memory chunks from `data`
/// and mapping records from `mmaps` as the event records name them, and `finish()` checks
/// that nothing is left over, which catches frames that do not belong together.
struct EventDecoder {
  /// What was wrong and in which stream; `TraceReader` adds the path and frame.
  struct Failure: Error {
    var stream: String
    var reason: String
  }

  private var events: ByteReader
  private var data: ByteReader
  private var mmaps: ByteReader
  private var previousRegisters = Registers()

  init(events: [UInt8], data: [UInt8], mmaps: [UInt8]) {
    self.events = ByteReader(events)
    self.data = ByteReader(data)
    self.mmaps = ByteReader(mmaps)
  }

  /// Every event record of the frame has been read (`finish` has not necessarily run).
  var hasReadAllRecords: Bool { events.isAtEnd }

  /// The next event of the frame, or nil when the frame is done.
  mutating func next() throws(Failure) -> TraceEvent? {
    if events.isAtEnd {
      try finish()
      return nil
    }
    let recordOffset = events.position
    // What the error names is made only on an error: an enum's name in an interpolation goes
    // through reflection, which cost a fifth of a replay's time when done for every event.
    var named: (kind: EventEncoder.EventKind, index: UInt64)?
    do throws(ByteReader.Overrun) {
      let kindByte = try events.readUInt8()
      let length = Int(try events.readUInt32())
      guard let kind = EventEncoder.EventKind(rawValue: kindByte) else {
        throw ByteReader.Overrun(
          reason: "unknown event kind \(kindByte) (this rewind knows kinds 1-7)")
      }
      let payloadStart = events.position
      // Every kind starts with these two, and naming the event helps whoever reads the error.
      let index = try events.readUInt64()
      named = (kind, index)
      let tid = try events.readInt32()
      try Check.that(tid > 0, "its thread id is \(tid); Linux thread ids are positive")
      let event = try readEvent(kind, index: index, tid: tid, payloadEnd: payloadStart + length)
      if events.position - payloadStart != length {
        throw ByteReader.Overrun(
          reason:
            "a \(kind) record claims \(length) bytes but holds \(events.position - payloadStart)")
      }
      return event
    } catch {
      let place = "offset \(recordOffset) of the uncompressed frame"
      let location = named.map { "\($0.kind) event \($0.index) (record at \(place))" } ?? "event record at \(place)"
      throw Failure(stream: error.stream ?? "events", reason: "\(location): \(error.reason)")
    }
  }

  /// `payloadEnd`: where the record ends, so fields added in a later format version can be
  /// told absent (a version 1 trace).
  private mutating func readEvent(
    _ kind: EventEncoder.EventKind, index: UInt64, tid: Int32, payloadEnd: Int
  ) throws(ByteReader.Overrun) -> TraceEvent {
    switch kind {
    case .exec:
      let registers = try readRegisters()
      let initialStack = try readChunk()
      var argv: [String] = []
      for _ in 0..<(try events.readCount(minimumSize: 4)) { argv.append(try events.readString()) }
      var envp: [String] = []
      for _ in 0..<(try events.readCount(minimumSize: 4)) { envp.append(try events.readString()) }
      let cwd = try events.readString()
      try Check.argumentCount(in: initialStack)
      let mappingCount = Int(try events.readUInt32())
      // An InitialMapping record takes at least 38 bytes (empty strings, no file); a damaged
      // count must not loop billions of times before the first read fails.
      try Check.that(
        mappingCount <= mmaps.remaining / 38,
        "it names \(mappingCount) initial mappings, more than the \(mmaps.remaining) bytes "
          + "left in the mmaps frame can hold")
      var vdso: MemoryChunk?
      if events.position < payloadEnd {
        let chunk = try readChunk()
        try Check.that(
          chunk.bytes.count > 0 && chunk.bytes.count <= 1 << 20 && chunk.bytes.count % 4096 == 0 && chunk.address % 4096 == 0,
          "its vDSO is \(chunk.bytes.count) bytes at 0x\(String(chunk.address, radix: 16)); the recorder saves whole pages of it, at most 1 MiB")
        vdso = chunk
      }
      let executable = try readMappedFileRecord()
      var mappings: [InitialMapping] = []
      for _ in 0..<mappingCount { mappings.append(try readInitialMappingRecord()) }
      return .exec(
        ExecEvent(
          index: index, tid: tid, executable: executable, registers: registers,
          initialStack: initialStack, mappings: mappings, argv: argv, envp: envp, cwd: cwd, vdso: vdso))
    case .syscall:
      let registers = try readRegisters()
      let result = try events.readInt64()
      var inputs: [MemoryChunk] = []
      for _ in 0..<(try events.readCount(minimumSize: 16)) { inputs.append(try readChunk()) }
      var outputs: [MemoryChunk] = []
      for _ in 0..<(try events.readCount(minimumSize: 16)) { outputs.append(try readChunk()) }
      let hasMappedFile = try events.readBool()
      var passedThrough: [UInt8]?
      let passedCount = try events.readCount(minimumSize: 16)
      try Check.that(
        passedCount <= 1, "it has \(passedCount) passed-through byte runs; a call has 0 or 1")
      if passedCount == 1 { passedThrough = try readChunk().bytes }
      let echoFD = try events.readInt32()
      // Replay writes the echo to its own descriptor of that number: never one of the trace's.
      try Check.that(
        [-1, 1, 2].contains(echoFD),
        "its output echo goes to descriptor \(echoFD); the recorder echoes only to 1 or 2")
      let flags = try events.readUInt8()
      try Check.that(flags & ~3 == 0, "its flags are \(flags); a recorder sets only bits 0 and 1")
      let mappedFile = hasMappedFile ? try readMappedFileRecord() : nil
      return .syscall(
        SyscallEvent(
          index: index, tid: tid, entryRegisters: registers, result: result, inputs: inputs,
          outputs: outputs, mappedFile: mappedFile, passedThrough: passedThrough,
          echoFD: echoFD < 0 ? nil : echoFD, outputsWrittenLater: flags & 1 != 0, injected: flags & 2 != 0))
    case .signal:
      let signal = try events.readInt32()
      let code = try events.readInt32()
      try Check.signalNumber(signal)
      let siginfo = try events.readCounted()
      try Check.that(
        siginfo.count == Check.siginfoSize,
        "its siginfo is \(siginfo.count) bytes; siginfo_t is \(Check.siginfoSize)")
      let registers = try readRegisters()
      let memory = try readWords(before: payloadEnd)
      return .signal(
        SignalEvent(
          index: index, tid: tid, signal: signal, code: code, siginfo: siginfo,
          registers: registers, memory: memory, stack: try readStack(before: payloadEnd),
          reached: try readReached(before: payloadEnd)))
    case .rdtsc:
      return .rdtsc(
        RdtscEvent(
          index: index, tid: tid,
          rip: try events.readUInt64(), isRdtscp: try events.readBool(),
          value: try events.readUInt64(), aux: try events.readUInt32()))
    case .memoryWrite:
      var chunks: [MemoryChunk] = []
      for _ in 0..<(try events.readCount(minimumSize: 16)) { chunks.append(try readChunk()) }
      return .memoryWrite(MemoryWriteEvent(index: index, tid: tid, chunks: chunks))
    case .preemption:
      let registers = try readRegisters()
      let memory = try readWords(before: payloadEnd)
      return .preemption(
        PreemptionEvent(
          index: index, tid: tid, registers: registers, memory: memory, stack: try readStack(before: payloadEnd),
          reached: try readReached(before: payloadEnd)))
    case .exit:
      let how = try events.readUInt8()
      let number = try events.readInt32()
      let coreDumped = try events.readBool()
      let status: ExitStatus
      switch how {
      case 0: status = .exited(code: number)
      case 1:
        try Check.signalNumber(number)
        status = .killed(signal: number, coreDumped: coreDumped)
      default: throw ByteReader.Overrun(reason: "unknown exit kind \(how)")
      }
      return .exit(ExitEvent(index: index, tid: tid, status: status))
    }
  }

  private mutating func readRegisters() throws(ByteReader.Overrun) -> Registers {
    let mask = try events.readUInt32()
    if mask >> UInt32(Registers.count) != 0 {
      throw ByteReader.Overrun(reason: "register mask \(mask) names more than 27 registers")
    }
    var registers = previousRegisters
    for i in 0..<Registers.count where mask & (1 << UInt32(i)) != 0 {
      registers.words[i] = try events.readUInt64()
    }
    previousRegisters = registers
    return registers
  }

  private mutating func readChunk() throws(ByteReader.Overrun) -> MemoryChunk {
    let address = try events.readUInt64()
    let count = try events.readUInt64()
    try Check.span(address, count, "a memory chunk")
    guard count <= UInt64(data.remaining) else {
      throw ByteReader.Overrun(
        reason: "a memory chunk of \(count) bytes at 0x\(String(address, radix: 16)) runs past "
          + "the \(data.remaining) bytes left in the data frame", stream: "data")
    }
    return MemoryChunk(address: address, bytes: try data.readRaw(count: Int(count)))
  }

  private mutating func readMappedFileRecord() throws(ByteReader.Overrun) -> MappedFile {
    try readMmapsRecord(.mappedFile) { (r: inout ByteReader) throws(ByteReader.Overrun) in
      try Self.readFileFields(&r)
    }
  }

  private mutating func readInitialMappingRecord() throws(ByteReader.Overrun) -> InitialMapping {
    try readMmapsRecord(.initialMapping) { (r: inout ByteReader) throws(ByteReader.Overrun) in
      let start = try r.readUInt64()
      let end = try r.readUInt64()
      try Check.that(
        start < end && start % 4096 == 0 && end % 4096 == 0,
        "an initial mapping spans 0x\(String(start, radix: 16))-0x\(String(end, radix: 16)), "
          + "not a nonempty run of whole pages")
      let permissions = try r.readString()
      try Check.permissions(permissions)
      let fileOffset = try r.readUInt64()
      let name = try r.readString()
      let file = try r.readBool() ? try Self.readFileFields(&r) : nil
      return InitialMapping(
        start: start, end: end, permissions: permissions, fileOffset: fileOffset, file: file,
        name: name)
    }
  }

  private static func readFileFields(_ r: inout ByteReader) throws(ByteReader.Overrun)
    -> MappedFile
  {
    let hash = try r.readString()
    try Check.contentHash(hash)
    let file = MappedFile(
      contentHash: hash, originalPath: try r.readString(), fileSize: try r.readUInt64())
    try Check.that(
      file.fileSize <= UInt64(Int64.max),
      "the size of the saved '\(file.originalPath)' is \(file.fileSize), beyond any file's")
    return file
  }

  private mutating func readMmapsRecord<T>(
    _ expected: EventEncoder.MappingKind,
    _ body: (inout ByteReader) throws(ByteReader.Overrun) -> T
  ) throws(ByteReader.Overrun) -> T {
    let offset = mmaps.position
    do throws(ByteReader.Overrun) {
      let kind = try mmaps.readUInt8()
      let length = Int(try mmaps.readUInt32())
      guard kind == expected.rawValue else {
        throw ByteReader.Overrun(
          reason: "expected a \(expected) record (kind \(expected.rawValue)), found kind \(kind)")
      }
      let start = mmaps.position
      let value = try body(&mmaps)
      if mmaps.position - start != length {
        throw ByteReader.Overrun(
          reason: "a \(expected) record claims \(length) bytes but holds \(mmaps.position - start)")
      }
      return value
    } catch {
      throw ByteReader.Overrun(
        reason: "in the mmaps frame at offset \(offset): \(error.reason)", stream: "mmaps")
    }
  }

  /// A code point's memory words, if the record (ending at `end`) has them.
  private mutating func readWords(before end: Int) throws(ByteReader.Overrun) -> [CodePointMemory] {
    guard events.position < end else { return [] }
    var words: [CodePointMemory] = []
    for _ in 0..<(try events.readCount(minimumSize: 17)) {
      let word = CodePointMemory(
        address: try events.readUInt64(), size: try events.readUInt8(),
        value: try events.readUInt64())
      try Check.codePointWord(word)
      words.append(word)
    }
    return words
  }

  private mutating func readStack(before end: Int) throws(ByteReader.Overrun) -> StackSignature? {
    guard events.position < end else { return nil }
    let chunk = try readChunk()
    try Check.that(
      [64, 128, 256, 512].contains(chunk.bytes.count),
      "a code point's stack signature holds \(chunk.bytes.count) bytes; the recorder takes 64, 128, 256 or 512")
    return StackSignature(bytes: chunk.bytes)
  }

  private mutating func readReached(before end: Int) throws(ByteReader.Overrun) -> [MemoryChunk] {
    guard events.position < end else { return [] }
    let count = try events.readCount(minimumSize: 16)
    try Check.that(
      count <= ReachedMemory.chunkLimit,
      "a code point's reached memory has \(count) chunks; the recorder takes at most \(ReachedMemory.chunkLimit)")
    var chunks: [MemoryChunk] = []
    for _ in 0..<count {
      let chunk = try readChunk()
      try Check.that(
        (8...ReachedMemory.registerChunkSize).contains(chunk.bytes.count) && chunk.bytes.count % 8 == 0,
        "a chunk of a code point's reached memory holds \(chunk.bytes.count) bytes; the recorder takes whole words, 8 to \(ReachedMemory.registerChunkSize) bytes")
      chunks.append(chunk)
    }
    return chunks
  }

  /// Checks that the event records used up the data and mmaps frames exactly.
  func finish() throws(Failure) {
    if !data.isAtEnd {
      throw Failure(
        stream: "data", reason: "\(data.remaining) bytes left over after the last event")
    }
    if !mmaps.isAtEnd {
      throw Failure(
        stream: "mmaps", reason: "\(mmaps.remaining) bytes left over after the last event")
    }
  }
}
