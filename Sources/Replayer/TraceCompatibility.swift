import TraceFormat

/// What the header says about the machine and the rewind that recorded a trace, compared with
/// this ones (TraceHeader's doc comment). Neither difference stops a replay: its divergence
/// checks catch what actually differs, and these warnings say where to look when they do.
public enum TraceCompatibility {
  /// One message per difference, for stderr before replay starts.
  public static func warnings(
    for header: TraceHeader, path: String, cpuModel: String, syscallTableHash: String
  ) -> [String] {
    var warnings: [String] = []
    if header.cpuModel != cpuModel {
      // CPUID cannot be trapped without CPUID faulting, so the replayed program sees this
      // CPU, and glibc's IFUNCs pick their memcpy and strlen by it.
      warnings.append(
        "trace '\(path)' was recorded on CPU '\(header.cpuModel)', and this machine's is "
          + "'\(cpuModel)'. glibc picks its string and memory functions by CPU, so replay may "
          + "diverge inside them; if it does, replay on a machine with the recording's CPU.")
    }
    if header.syscallTableHash != syscallTableHash {
      // The hash covers each row's number, name and replay policy (SyscallTable.tableHash).
      warnings.append(
        "trace '\(path)' was recorded by rewind \(header.rewindVersion) with system call "
          + "table \(header.syscallTableHash), and this rewind's table is \(syscallTableHash): "
          + "the two differ in which calls they know or in how some replay (emulated from "
          + "the recording or performed again), so a call may replay otherwise than it was "
          + "recorded. If replay diverges at a system call, replay with the build of rewind "
          + "that recorded the trace (\(header.rewindVersion)).")
    }
    return warnings
  }
}
