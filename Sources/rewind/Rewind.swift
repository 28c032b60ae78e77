import ArgumentParser

@main
struct Rewind: ParsableCommand {
  static let version = "0.1.0"
  static let configuration = CommandConfiguration(
    abstract: "Record a Linux program once, then replay that exact execution as often as you like.",
    discussion: """
      Traces live in $REWIND_TRACE_DIR, else $XDG_DATA_HOME/rewind, else ~/.local/share/rewind; \
      one directory per recording, named <program>-<n>, and a latest-trace link to the newest.
      """,
    version: version,
    subcommands: [Record.self, Replay.self, Ps.self, Dump.self, Stats.self, Inject.self, WatchMemory.self, WatchGuardian.self, Ls.self, Rm.self, Pack.self, Doctor.self, VM.self])
}

/// Exit statuses of rewind itself (a recorded program's own status passes through record).
enum ExitCodes {
  /// The trace cannot be read: missing, not a trace, corrupted, another format version.
  static let badTrace: Int32 = 2
  /// Replay diverged from the recording.
  static let divergence: Int32 = 3
  /// rewind failed while recording (tracing failed, an unsupported call).
  static let recordFailed: Int32 = 125
  static let cannotExecute: Int32 = 126
  static let notFound: Int32 = 127
}
