/// One thing that happened to a tracee during recording, in the order it happened.
///
/// Events are what replay consumes: each says what the tracee could not compute by itself
/// (a system call's result and the memory it wrote, a signal, an RDTSC value) plus the
/// registers at that point, which replay compares to detect divergence.
public enum TraceEvent: Equatable, Sendable {
  /// The initial state right after the first `execve` of a process (or a later exec).
  case exec(ExecEvent)
  /// A system call: its registers at entry, its result and the memory it wrote.
  case syscall(SyscallEvent)
  /// A signal delivered to the tracee (its handler ran, it was ignored, or it killed it).
  case signal(SignalEvent)
  /// An RDTSC or RDTSCP instruction that trapped and whose value the recorder supplied.
  case rdtsc(RdtscEvent)
  /// The process ended; the last event of a process.
  case exit(ExitEvent)
  /// A thread was stopped between system calls so that another could run: replay runs it to
  /// this code point (its registers) and no further before the next event.
  case preemption(PreemptionEvent)
  /// The memory a blocking call wrote, where the call returned: other tasks of its memory
  /// group ran while it blocked and must not see those bytes earlier.
  case memoryWrite(MemoryWriteEvent)
}

public struct MemoryWriteEvent: Equatable, Sendable {
  public var index: UInt64
  public var tid: Int32
  public var chunks: [MemoryChunk]
  public init(index: UInt64, tid: Int32, chunks: [MemoryChunk]) {
    self.index = index
    self.tid = tid
    self.chunks = chunks
  }
}

/// A code point at which a thread was preempted: its registers there. The same instruction
/// with the same registers identifies the point (DESIGN.md, principle 4).
public struct PreemptionEvent: Equatable, Sendable {
  public var index: UInt64
  public var tid: Int32
  public var registers: Registers
  /// Memory the code point's nearby instructions use, as it was there (`CodePointMemory`).
  public var memory: [CodePointMemory]
  /// The stack above rsp there (`StackSignature`; nil in traces recorded before it existed).
  public var stack: StackSignature?
  /// Memory the registers point to there (`ReachedMemory`; empty in older traces).
  public var reached: [MemoryChunk]
  public init(
    index: UInt64, tid: Int32, registers: Registers, memory: [CodePointMemory] = [], stack: StackSignature? = nil,
    reached: [MemoryChunk] = []
  ) {
    self.index = index
    self.tid = tid
    self.registers = registers
    self.memory = memory
    self.stack = stack
    self.reached = reached
  }
}

/// The bytes above a thread's stack pointer at a code point: part of the point's signature
/// with the registers and `CodePointMemory`. Code that runs again and again with the same
/// registers (an interpreter's template for a loop whose variables live in its frame,
/// HotSpot's runtime walking the same frames at each counter overflow) is told apart by its
/// frames, where the values that change are. Replay can reproduce them because nothing of
/// its own is ever written on a tracee's stack (the compare stub runs on a stack of its own).
public struct StackSignature: Equatable, Sendable {
  /// How many bytes from rsp the recorder tries to take; fewer where the stack's mapping
  /// ends sooner.
  public static let span = 512
  /// The bytes from rsp on: `span`, or a power of two down to 64.
  public var bytes: [UInt8]
  public init(bytes: [UInt8]) { self.bytes = bytes }

  /// FNV-1a over `bytes` (also how reverse execution's places name a stack).
  public static func hash(_ bytes: [UInt8]) -> UInt64 {
    bytes.reduce(0xcbf2_9ce4_8422_2325 as UInt64) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
  }

  /// The stack above `rsp`, reading up to `span` bytes with `read` (nil where memory is
  /// unreadable): the longest readable of `span`, `span`/2, ... 64 bytes, or nil.
  public static func take(at rsp: UInt64, _ read: (UInt64, Int) -> [UInt8]?) -> StackSignature? {
    var length = span
    while length >= 64 {
      if let bytes = read(rsp, length), bytes.count == length { return StackSignature(bytes: bytes) }
      length /= 2
    }
    return nil
  }

  /// The 8-byte word at `offset`.
  public func word(at offset: Int) -> UInt64 {
    bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt64.self) }
  }
}

/// A value in memory at a code point, part of its signature with the registers: a loop that
/// changes only memory (a counter incremented in place) passes its instruction again and
/// again with the same registers, and these values tell those passes apart. The recorder
/// takes them at the operands of the instructions around the point.
public struct CodePointMemory: Equatable, Sendable {
  public var address: UInt64
  /// 1, 2, 4 or 8 bytes.
  public var size: UInt8
  /// The value, little-endian, zero-extended.
  public var value: UInt64
  public init(address: UInt64, size: UInt8, value: UInt64) {
    self.address = address
    self.size = size
    self.value = value
  }
}

/// The 27 general registers of `struct user_regs_struct`, in its order.
public struct Registers: Equatable, Hashable, Sendable {
  public static let count = 27
  public var words: [UInt64]
  public init(words: [UInt64]) {
    precondition(words.count == Registers.count, "user_regs_struct has 27 words, got \(words.count)")
    self.words = words
  }
  public init() { self.words = Array(repeating: 0, count: Registers.count) }

  // Offsets in user_regs_struct (sys/user.h).
  public var r15: UInt64 { get { words[0] } set { words[0] = newValue } }
  public var r14: UInt64 { get { words[1] } set { words[1] = newValue } }
  public var r13: UInt64 { get { words[2] } set { words[2] = newValue } }
  public var r12: UInt64 { get { words[3] } set { words[3] = newValue } }
  public var rbp: UInt64 { get { words[4] } set { words[4] = newValue } }
  public var rbx: UInt64 { get { words[5] } set { words[5] = newValue } }
  public var r11: UInt64 { get { words[6] } set { words[6] = newValue } }
  public var r10: UInt64 { get { words[7] } set { words[7] = newValue } }
  public var r9: UInt64 { get { words[8] } set { words[8] = newValue } }
  public var r8: UInt64 { get { words[9] } set { words[9] = newValue } }
  public var rax: UInt64 { get { words[10] } set { words[10] = newValue } }
  public var rcx: UInt64 { get { words[11] } set { words[11] = newValue } }
  public var rdx: UInt64 { get { words[12] } set { words[12] = newValue } }
  public var rsi: UInt64 { get { words[13] } set { words[13] = newValue } }
  public var rdi: UInt64 { get { words[14] } set { words[14] = newValue } }
  public var origRax: UInt64 { get { words[15] } set { words[15] = newValue } }
  public var rip: UInt64 { get { words[16] } set { words[16] = newValue } }
  public var cs: UInt64 { get { words[17] } set { words[17] = newValue } }
  public var eflags: UInt64 { get { words[18] } set { words[18] = newValue } }
  public var rsp: UInt64 { get { words[19] } set { words[19] = newValue } }
  public var ss: UInt64 { get { words[20] } set { words[20] = newValue } }
  public var fsBase: UInt64 { get { words[21] } set { words[21] = newValue } }
  public var gsBase: UInt64 { get { words[22] } set { words[22] = newValue } }
  public var ds: UInt64 { get { words[23] } set { words[23] = newValue } }
  public var es: UInt64 { get { words[24] } set { words[24] = newValue } }
  public var fs: UInt64 { get { words[25] } set { words[25] = newValue } }
  public var gs: UInt64 { get { words[26] } set { words[26] = newValue } }

  public static let names = [
    "r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8", "rax", "rcx", "rdx",
    "rsi", "rdi", "orig_rax", "rip", "cs", "eflags", "rsp", "ss", "fs_base", "gs_base", "ds",
    "es", "fs", "gs",
  ]

  /// The six system call arguments in ABI order (rdi, rsi, rdx, r10, r8, r9).
  public var syscallArguments: [UInt64] { [rdi, rsi, rdx, r10, r8, r9] }
}

/// A span of tracee memory and the bytes it held (written by a call, or passed into one).
public struct MemoryChunk: Equatable, Sendable {
  public var address: UInt64
  public var bytes: [UInt8]
  public init(address: UInt64, bytes: [UInt8]) {
    self.address = address
    self.bytes = bytes
  }
}

public struct SyscallEvent: Equatable, Sendable {
  /// The trace-wide event number (a global counter across processes).
  public var index: UInt64
  /// The recorded thread id.
  public var tid: Int32
  /// Registers at the syscall-entry stop (orig_rax is the call number).
  public var entryRegisters: Registers
  /// The value of rax on return (negative errno on failure).
  public var result: Int64
  /// Inputs captured at entry for dump and divergence checks: path strings and input buffers
  /// (at most 64 KiB each; `inputsTruncated` says when one was cut).
  public var inputs: [MemoryChunk]
  /// Memory the call wrote, read at the syscall-exit stop.
  public var outputs: [MemoryChunk]
  /// For a file-backed mmap: the content hash of the saved file, its offset and length.
  public var mappedFile: MappedFile?
  /// What a file-to-file call (sendfile, copy_file_range, splice) moved to fd 1 or 2. Those
  /// bytes never pass through tracee memory, so replay needs them to echo the output.
  public var passedThrough: [UInt8]?
  /// The call wrote to the stdout (1) or stderr (2) that `rewind record` was given; replay
  /// writes the same bytes to its own fd of that number. Nil for writes that went elsewhere
  /// (a pipe to another recorded process, a file), whatever the program's fd number was.
  public var echoFD: Int32?
  /// The outputs reach memory at a later `memoryWrite` event, not here (the call blocked
  /// while other tasks of its memory group ran); they stay here for `dump`.
  public var outputsWrittenLater: Bool = false
  /// `rewind record --inject` changed the call's result: it never ran, and returned
  /// `result` (strace marks such lines `(INJECTED)`).
  public var injected: Bool = false
  public init(
    index: UInt64, tid: Int32, entryRegisters: Registers, result: Int64,
    inputs: [MemoryChunk] = [], outputs: [MemoryChunk] = [], mappedFile: MappedFile? = nil,
    passedThrough: [UInt8]? = nil, echoFD: Int32? = nil, outputsWrittenLater: Bool = false, injected: Bool = false
  ) {
    self.injected = injected
    self.outputsWrittenLater = outputsWrittenLater
    self.passedThrough = passedThrough
    self.echoFD = echoFD
    self.index = index
    self.tid = tid
    self.entryRegisters = entryRegisters
    self.result = result
    self.inputs = inputs
    self.outputs = outputs
    self.mappedFile = mappedFile
  }
  public var number: Int { Int(Int64(bitPattern: entryRegisters.origRax)) }

  /// The `result` of a call the process never returned from (it was killed, or its thread
  /// group exited, while the call blocked). Replay runs the thread up to the call's entry:
  /// what it did before the call still happened.
  public static let unfinished = Int64.min
  public var isUnfinished: Bool { result == SyscallEvent.unfinished }
}

/// A file mapped by mmap (or by the kernel at exec), saved in the trace by content hash.
public struct MappedFile: Equatable, Sendable {
  /// Lowercase hex content hash; the saved copy is `files/<hash>` in the trace directory.
  public var contentHash: String
  /// The path the tracee mapped it from, for messages and `dump`.
  public var originalPath: String
  /// The file's size when it was mapped.
  public var fileSize: UInt64
  public init(contentHash: String, originalPath: String, fileSize: UInt64) {
    self.contentHash = contentHash
    self.originalPath = originalPath
    self.fileSize = fileSize
  }
}

/// One mapping of the address space, as /proc/PID/maps shows it.
public struct InitialMapping: Equatable, Sendable {
  public var start: UInt64
  public var end: UInt64
  /// "r-xp" and so on.
  public var permissions: String
  public var fileOffset: UInt64
  /// The saved file, when the mapping is file-backed.
  public var file: MappedFile?
  /// The name /proc/PID/maps shows ("[stack]", "[vdso]", a path), or "".
  public var name: String
  public init(
    start: UInt64, end: UInt64, permissions: String, fileOffset: UInt64, file: MappedFile?,
    name: String
  ) {
    self.start = start
    self.end = end
    self.permissions = permissions
    self.fileOffset = fileOffset
    self.file = file
    self.name = name
  }
}

public struct ExecEvent: Equatable, Sendable {
  public var index: UInt64
  public var tid: Int32
  /// The program image: the saved executable.
  public var executable: MappedFile
  /// Registers at the exec stop (rsp points at argc).
  public var registers: Registers
  /// The initial stack from rsp to the top of the stack mapping: argc, argv, envp, auxv and
  /// the strings and AT_RANDOM bytes they point to (AT_SYSINFO_EHDR hidden when `vdso` is nil).
  public var initialStack: MemoryChunk
  /// The address space right after exec (executable, loader, stack, vdso, vvar).
  public var mappings: [InitialMapping]
  /// argv and envp as the program received them, for `ps`, `dump` and messages.
  public var argv: [String]
  public var envp: [String]
  public var cwd: String
  /// The whole [vdso] mapping with its functions patched into system calls (the recorder's
  /// `VDSOPatch`), which replay writes back; nil in traces from before version 4 and where
  /// it could not be patched (the auxv then hides it).
  public var vdso: MemoryChunk?
  public init(
    index: UInt64, tid: Int32, executable: MappedFile, registers: Registers,
    initialStack: MemoryChunk, mappings: [InitialMapping], argv: [String], envp: [String],
    cwd: String, vdso: MemoryChunk? = nil
  ) {
    self.index = index
    self.tid = tid
    self.executable = executable
    self.registers = registers
    self.initialStack = initialStack
    self.mappings = mappings
    self.argv = argv
    self.envp = envp
    self.cwd = cwd
    self.vdso = vdso
  }
}

public struct SignalEvent: Equatable, Sendable {
  public var index: UInt64
  public var tid: Int32
  public var signal: Int32
  /// si_code of the siginfo: > 0 for a kernel-raised fault, <= 0 for one sent by a process.
  public var code: Int32
  /// The whole 128-byte siginfo, so replay can deliver it exactly.
  public var siginfo: [UInt8]
  /// Registers at the signal-delivery-stop.
  public var registers: Registers
  /// For a signal sent by a process or timer (delivered at a code point): memory there.
  public var memory: [CodePointMemory]
  /// For such a signal: the stack above rsp there (`StackSignature`; nil in older traces).
  public var stack: StackSignature?
  /// For such a signal: memory its registers point to (`ReachedMemory`; empty in older traces).
  public var reached: [MemoryChunk]
  public init(
    index: UInt64, tid: Int32, signal: Int32, code: Int32, siginfo: [UInt8], registers: Registers,
    memory: [CodePointMemory] = [], stack: StackSignature? = nil, reached: [MemoryChunk] = []
  ) {
    self.reached = reached
    self.index = index
    self.tid = tid
    self.signal = signal
    self.code = code
    self.siginfo = siginfo
    self.registers = registers
    self.memory = memory
    self.stack = stack
  }
}

public struct RdtscEvent: Equatable, Sendable {
  public var index: UInt64
  public var tid: Int32
  /// The address of the RDTSC/RDTSCP instruction.
  public var rip: UInt64
  public var isRdtscp: Bool
  public var value: UInt64
  /// The TSC_AUX value RDTSCP put in ecx.
  public var aux: UInt32
  public init(index: UInt64, tid: Int32, rip: UInt64, isRdtscp: Bool, value: UInt64, aux: UInt32) {
    self.index = index
    self.tid = tid
    self.rip = rip
    self.isRdtscp = isRdtscp
    self.value = value
    self.aux = aux
  }
}

public struct ExitEvent: Equatable, Sendable {
  public var index: UInt64
  public var tid: Int32
  public var status: ExitStatus
  public init(index: UInt64, tid: Int32, status: ExitStatus) {
    self.index = index
    self.tid = tid
    self.status = status
  }
}

/// How a process ended.
public enum ExitStatus: Equatable, Sendable, Codable {
  case exited(code: Int32)
  case killed(signal: Int32, coreDumped: Bool)

  /// The status a shell would report: the code, or 128 + the signal number.
  public var shellStatus: Int32 {
    switch self {
    case .exited(let code): code
    case .killed(let signal, _): 128 + signal
    }
  }
}

extension TraceEvent {
  public var index: UInt64 {
    switch self {
    case .exec(let e): e.index
    case .syscall(let e): e.index
    case .signal(let e): e.index
    case .rdtsc(let e): e.index
    case .exit(let e): e.index
    case .preemption(let e): e.index
    case .memoryWrite(let e): e.index
    }
  }
  public var tid: Int32 {
    switch self {
    case .exec(let e): e.tid
    case .syscall(let e): e.tid
    case .signal(let e): e.tid
    case .rdtsc(let e): e.tid
    case .exit(let e): e.tid
    case .preemption(let e): e.tid
    case .memoryWrite(let e): e.tid
    }
  }
}

extension TraceEvent {
  /// The same event with another index and thread: a trace made of another trace's events
  /// (`rewind inject`'s, which continues a recording with a live run) renumbers them.
  public func moved(index: UInt64, tid: Int32) -> TraceEvent {
    switch self {
    case .exec(var e): e.index = index; e.tid = tid; return .exec(e)
    case .syscall(var e): e.index = index; e.tid = tid; return .syscall(e)
    case .signal(var e): e.index = index; e.tid = tid; return .signal(e)
    case .rdtsc(var e): e.index = index; e.tid = tid; return .rdtsc(e)
    case .exit(var e): e.index = index; e.tid = tid; return .exit(e)
    case .preemption(var e): e.index = index; e.tid = tid; return .preemption(e)
    case .memoryWrite(var e): e.index = index; e.tid = tid; return .memoryWrite(e)
    }
  }
}
