import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Where traces live and how the names users type map to trace directories.
///
/// As in rr: each recording gets `<root>/<program>-<n>`, and `<root>/latest-trace` points at
/// the newest, so `rewind replay` with no argument replays what was just recorded.
public enum TraceLocation {
  public static let latestLinkName = "latest-trace"

  /// $REWIND_TRACE_DIR if set, else $XDG_DATA_HOME/rewind, else ~/.local/share/rewind.
  public static func defaultRoot(
    environment: [String: String] = ProcessInfo.processInfo.environment
  ) -> String {
    if let root = environment["REWIND_TRACE_DIR"], !root.isEmpty { return root }
    // The XDG spec says a relative XDG_DATA_HOME is invalid and must be ignored.
    if let data = environment["XDG_DATA_HOME"], data.hasPrefix("/") { return data + "/rewind" }
    let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
    return home + "/.local/share/rewind"
  }

  /// Creates `<root>/<basename of executableName>-<n>` with n the smallest unused integer
  /// >= 0, creating `root` (and its parents) first if needed. Safe against concurrent
  /// recorders: mkdir either creates a name or fails with EEXIST, and then we try the next.
  public static func makeNewTraceDirectory(root: String, executableName: String) throws -> String {
    try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    let base = baseName(executableName)
    var n = 0
    while true {
      let candidate = "\(root)/\(base)-\(n)"
      if mkdir(candidate, 0o755) == 0 { return candidate }
      if errno != EEXIST { throw TraceError.io(path: candidate, errno: errno) }
      n += 1
    }
  }

  /// Points `<root>/latest-trace` at `directory`, atomically: a reader sees the old link or
  /// the new one, never none. The link is relative when `directory` is in `root`, so the
  /// whole root can be moved.
  public static func updateLatest(root: String, directory: String) throws {
    let target =
      parentDirectory(directory) == standardized(root) ? baseName(directory) : directory
    let link = root + "/" + latestLinkName
    let temporary = root + "/.\(latestLinkName)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    if symlink(target, temporary) != 0 { throw TraceError.io(path: temporary, errno: errno) }
    if rename(temporary, link) != 0 {
      let code = errno
      unlink(temporary)
      throw TraceError.io(path: link, errno: code)
    }
  }

  /// Resolves what the user typed: nil → the target of `<root>/latest-trace`; a name that
  /// exists in `root` → `<root>/<name>`; anything else → the path as given, if it exists.
  public static func resolve(_ argument: String?, root: String) throws(TraceError) -> String {
    guard let argument else {
      let link = root + "/" + latestLinkName
      guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: link) else {
        throw .notATrace(
          path: link,
          reason: "nothing has been recorded in '\(root)' yet (set REWIND_TRACE_DIR if your "
            + "traces are elsewhere, or name the trace)")
      }
      let resolved = target.hasPrefix("/") ? target : root + "/" + target
      if access(resolved, F_OK) != 0 {
        throw .notATrace(
          path: resolved, reason: "latest-trace points to it but it no longer exists")
      }
      return resolved
    }
    if !argument.isEmpty && !argument.contains("/") && access(root + "/" + argument, F_OK) == 0 {
      return root + "/" + argument
    }
    if access(argument, F_OK) == 0 { return argument }
    throw .notATrace(
      path: argument,
      reason: "there is no such directory, and no trace of that name in '\(root)' "
        + "(`ls \(root)` lists the traces)")
  }

  private static func baseName(_ path: String) -> String {
    let trimmed = path.hasSuffix("/") ? String(path.dropLast()) : path
    return trimmed.split(separator: "/").last.map(String.init) ?? trimmed
  }

  private static func parentDirectory(_ path: String) -> String {
    standardized((path as NSString).deletingLastPathComponent)
  }

  private static func standardized(_ path: String) -> String {
    (path as NSString).standardizingPath
  }
}
