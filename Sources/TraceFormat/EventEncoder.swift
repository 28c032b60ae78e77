/// Turns `TraceEvent`s into the uncompressed bytes of one frame of each stream.
///
/// Record layout (format version 5; all integers little-endian; `str` is
/// `u32 byteCount | UTF-8`; `regs` is described below):
///
/// `events`: records `u8 kind | u32 payloadLength | payload`. A reader rejects an unknown
/// kind as corruption; the length lets it check that a payload was read exactly. It also
/// rejects values no recorder writes (`EventDecoder.Check`): a siginfo of other than 128
/// bytes, a memory word of other than 1, 2, 4 or 8, a signal outside 1-64 and so on.
/// ```
/// kind 1 exec     u64 index | i32 tid | regs | chunk initialStack
///                 | u32 argc | str* argv | u32 envc | str* envp | str cwd | u32 mappingCount
///                 | chunk vdso (version 4; absent in older traces and where the vDSO is hidden)
///                 (mmaps: one MappedFile record for the executable, then mappingCount
///                 InitialMapping records)
/// kind 2 syscall  u64 index | i32 tid | regs entry | i64 result
///                 | u32 inputCount | chunk* inputs | u32 outputCount | chunk* outputs
///                 | u8 hasMappedFile (mmaps: one MappedFile record when 1)
///                 | u32 n | chunk* passedThrough (address 0; n is 0 or 1) | i32 echoFD (-1: none)
///                 | u8 flags (bit 0: outputsWrittenLater, bit 1: injected)
/// kind 3 signal   u64 index | i32 tid | i32 signal | i32 code | u32 n | n bytes siginfo | regs
///                 | words | stack | reached
/// kind 4 rdtsc    u64 index | i32 tid | u64 rip | u8 isRdtscp | u64 value | u32 aux
/// kind 6 preemption  u64 index | i32 tid | regs | words | stack | reached
/// kind 7 memoryWrite u64 index | i32 tid | u32 n | chunk*
/// kind 5 exit     u64 index | i32 tid | u8 how (0 exited, 1 killed) | i32 code or signal
///                 | u8 coreDumped
/// ```
/// `words` (version 2; absent in version 1) is `u32 n | (u64 address | u8 size | u64 value)*`,
/// the memory of a code point (`CodePointMemory`).
/// `stack` (absent in older traces, and where the recorder could read no stack) is a `chunk`
/// (address 0: the bytes from rsp on) of 64, 128, 256 or 512 bytes, a `StackSignature`.
/// `reached` (version 3; absent in older traces, and written only after a `stack`) is `u32 n | chunk*`
/// of at most `ReachedMemory.chunkLimit` chunks of 8 to 32 bytes: memory the registers
/// point to (`ReachedMemory`).
/// `chunk` is `u64 address | u64 byteCount`; its bytes are the next `byteCount` bytes of the
/// `data` frame, so `data` holds only tracee memory, in the order the events name it.
///
/// `regs` is delta-encoded against the previous registers written in the same frame (all
/// zeros at the start of a frame, so frames stay independent): `u32 changedMask` with bit i
/// set when word i of `user_regs_struct` changed, then the changed words as u64, in order.
/// Between two system calls of one thread most registers are unchanged.
///
/// `mmaps`: records `u8 kind | u32 payloadLength | payload`:
/// ```
/// kind 1 MappedFile      str contentHash | str originalPath | u64 fileSize
/// kind 2 InitialMapping  u64 start | u64 end | str permissions | u64 fileOffset | str name
///                        | u8 hasFile | (str contentHash | str originalPath | u64 fileSize)
/// ```
struct EventEncoder {
  // Spelled out because they are on disk: never renumber, only add.
  enum EventKind: UInt8 {
    case exec = 1
    case syscall = 2
    case signal = 3
    case rdtsc = 4
    case exit = 5
    case preemption = 6
    case memoryWrite = 7
  }
  enum MappingKind: UInt8 {
    case mappedFile = 1
    case initialMapping = 2
  }

  var events = ByteWriter(reservingCapacity: 512 * 1024)
  var data = ByteWriter()
  var mmaps = ByteWriter()
  private(set) var eventCount = 0
  private var previousRegisters = Registers()

  var isEmpty: Bool { eventCount == 0 }
  var uncompressedByteCount: Int { events.count + data.count + mmaps.count }

  /// Starts a new frame: clears the buffers and the register delta state.
  mutating func reset() {
    events.removeAll()
    data.removeAll()
    mmaps.removeAll()
    eventCount = 0
    previousRegisters = Registers()
  }

  mutating func encode(_ event: TraceEvent) {
    eventCount += 1
    switch event {
    case .exec(let e):
      let start = beginRecord(.exec)
      events.write(e.index)
      events.write(e.tid)
      writeRegisters(e.registers)
      writeChunk(e.initialStack)
      events.write(UInt32(e.argv.count))
      for arg in e.argv { events.write(arg) }
      events.write(UInt32(e.envp.count))
      for variable in e.envp { events.write(variable) }
      events.write(e.cwd)
      events.write(UInt32(e.mappings.count))
      if let vdso = e.vdso { writeChunk(vdso) }
      endRecord(start)
      writeMappedFile(e.executable)
      for mapping in e.mappings { writeInitialMapping(mapping) }
    case .syscall(let e):
      let start = beginRecord(.syscall)
      events.write(e.index)
      events.write(e.tid)
      writeRegisters(e.entryRegisters)
      events.write(e.result)
      events.write(UInt32(e.inputs.count))
      for chunk in e.inputs { writeChunk(chunk) }
      events.write(UInt32(e.outputs.count))
      for chunk in e.outputs { writeChunk(chunk) }
      events.write(e.mappedFile != nil)
      events.write(UInt32(e.passedThrough == nil ? 0 : 1))
      if let bytes = e.passedThrough { writeChunk(MemoryChunk(address: 0, bytes: bytes)) }
      events.write(e.echoFD ?? -1)
      events.write(UInt8(e.outputsWrittenLater ? 1 : 0) | UInt8(e.injected ? 2 : 0))
      endRecord(start)
      if let file = e.mappedFile { writeMappedFile(file) }
    case .signal(let e):
      let start = beginRecord(.signal)
      events.write(e.index)
      events.write(e.tid)
      events.write(e.signal)
      events.write(e.code)
      events.writeCounted(e.siginfo)
      writeRegisters(e.registers)
      writeWords(e.memory)
      writeStack(e.stack, reached: e.reached)
      endRecord(start)
    case .rdtsc(let e):
      let start = beginRecord(.rdtsc)
      events.write(e.index)
      events.write(e.tid)
      events.write(e.rip)
      events.write(e.isRdtscp)
      events.write(e.value)
      events.write(e.aux)
      endRecord(start)
    case .memoryWrite(let e):
      let start = beginRecord(.memoryWrite)
      events.write(e.index)
      events.write(e.tid)
      events.write(UInt32(e.chunks.count))
      for chunk in e.chunks { writeChunk(chunk) }
      endRecord(start)
    case .preemption(let e):
      let start = beginRecord(.preemption)
      events.write(e.index)
      events.write(e.tid)
      writeRegisters(e.registers)
      writeWords(e.memory)
      writeStack(e.stack, reached: e.reached)
      endRecord(start)
    case .exit(let e):
      let start = beginRecord(.exit)
      events.write(e.index)
      events.write(e.tid)
      switch e.status {
      case .exited(let code):
        events.write(UInt8(0))
        events.write(code)
        events.write(false)
      case .killed(let signal, let coreDumped):
        events.write(UInt8(1))
        events.write(signal)
        events.write(coreDumped)
      }
      endRecord(start)
    }
  }

  /// Writes `kind | placeholder length`; returns where the length goes.
  private mutating func beginRecord(_ kind: EventKind) -> Int {
    events.write(kind.rawValue)
    events.write(UInt32(0))
    return events.count - 4
  }

  private mutating func endRecord(_ lengthOffset: Int) {
    events.patch(UInt32(events.count - lengthOffset - 4), at: lengthOffset)
  }

  /// The stack, then the reached memory: the latter only after a stack (a reader takes
  /// what follows the words for a stack).
  private mutating func writeStack(_ stack: StackSignature?, reached: [MemoryChunk]) {
    guard let stack else { return }
    writeChunk(MemoryChunk(address: 0, bytes: stack.bytes))
    guard !reached.isEmpty else { return }
    events.write(UInt32(reached.count))
    for chunk in reached { writeChunk(chunk) }
  }

  private mutating func writeWords(_ words: [CodePointMemory]) {
    events.write(UInt32(words.count))
    for word in words {
      events.write(word.address)
      events.write(word.size)
      events.write(word.value)
    }
  }

  private mutating func writeChunk(_ chunk: MemoryChunk) {
    events.write(chunk.address)
    events.write(UInt64(chunk.bytes.count))
    data.writeRaw(chunk.bytes)
  }

  private mutating func writeRegisters(_ registers: Registers) {
    var mask: UInt32 = 0
    for i in 0..<Registers.count where registers.words[i] != previousRegisters.words[i] {
      mask |= 1 << UInt32(i)
    }
    events.write(mask)
    for i in 0..<Registers.count where mask & (1 << UInt32(i)) != 0 {
      events.write(registers.words[i])
    }
    previousRegisters = registers
  }

  private mutating func writeMappedFile(_ file: MappedFile) {
    let start = beginMmapsRecord(.mappedFile)
    writeFileFields(file)
    endMmapsRecord(start)
  }

  private mutating func writeInitialMapping(_ mapping: InitialMapping) {
    let start = beginMmapsRecord(.initialMapping)
    mmaps.write(mapping.start)
    mmaps.write(mapping.end)
    mmaps.write(mapping.permissions)
    mmaps.write(mapping.fileOffset)
    mmaps.write(mapping.name)
    mmaps.write(mapping.file != nil)
    if let file = mapping.file { writeFileFields(file) }
    endMmapsRecord(start)
  }

  private mutating func writeFileFields(_ file: MappedFile) {
    mmaps.write(file.contentHash)
    mmaps.write(file.originalPath)
    mmaps.write(file.fileSize)
  }

  private mutating func beginMmapsRecord(_ kind: MappingKind) -> Int {
    mmaps.write(kind.rawValue)
    mmaps.write(UInt32(0))
    return mmaps.count - 4
  }

  private mutating func endMmapsRecord(_ lengthOffset: Int) {
    mmaps.patch(UInt32(mmaps.count - lengthOffset - 4), at: lengthOffset)
  }
}
