import Syscalls
/// What to record and where.
public struct RecordOptions: Sendable {
  /// The executable to run, already resolved through PATH.
  public var executablePath: String
  /// argv, argv[0] included, as the user typed it.
  public var arguments: [String]
  public var environment: [String]
  /// The trace directory to create.
  public var traceDirectory: String
  public var rewindVersion: String
  /// `--inject` rules: calls they apply to are not run and return the rule's result.
  public var injections: [InjectionRule] = []
  /// The in-process system call buffer library (`librewind_preload.so`) to load into the
  /// program with LD_PRELOAD, with the seccomp filter that lets its calls run without a
  /// stop; nil records every call with ptrace stops.
  public var syscallBufferLibrary: String?

  public init(
    executablePath: String, arguments: [String], environment: [String], traceDirectory: String,
    rewindVersion: String
  ) {
    self.executablePath = executablePath
    self.arguments = arguments
    self.environment = environment
    self.traceDirectory = traceDirectory
    self.rewindVersion = rewindVersion
  }
}

/// How a recording ended.
public struct RecordOutcome: Sendable {
  public var exitStatus: ExitStatusOfRoot
  public var eventCount: UInt64
  public var traceDirectory: String
}

/// The root process's end, as the shell should see it from `rewind record`.
public enum ExitStatusOfRoot: Sendable, Equatable {
  case exited(Int32)
  case killed(Int32)
  public var shellStatus: Int32 {
    switch self {
    case .exited(let code): code
    case .killed(let signal): 128 + signal
    }
  }
}
