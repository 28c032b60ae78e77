/// What is wrong with a trace, worded for the person who typed the command.
public enum TraceError: Error, CustomStringConvertible, Equatable {
  /// The path is not a trace directory at all (missing, not a directory, no header.json...).
  case notATrace(path: String, reason: String)
  /// The trace was written by a rewind with another format version.
  case unsupportedVersion(path: String, found: Int, supported: Int)
  /// A stream or file of the trace does not hold what the format says. `frame` counts from 0
  /// and `offset` is the byte offset of that frame in the stream file.
  case corrupted(path: String, stream: String, frame: Int, offset: UInt64, reason: String)
  /// A reader was asked to seek to a place the trace does not have (a position taken on
  /// another trace, or on this one before it was cut short).
  case noSuchPosition(path: String, position: String, reason: String)
  /// A mapped file the trace refers to is not in `files/`.
  case missingFile(path: String, hash: String, originalPath: String)
  /// A system call on a file of the trace failed.
  case io(path: String, errno: Int32)

  public var description: String {
    switch self {
    case .notATrace(let path, let reason):
      return "'\(path)' is not a rewind trace: \(reason). Record one with `rewind record PROGRAM`."
    case .unsupportedVersion(let path, let found, let supported):
      return "trace '\(path)' has format version \(found); this rewind reads versions "
        + "\(TraceHeader.oldestReadableFormatVersion) to \(supported). "
        + "Replay it with the rewind that recorded it, or record again."
    case .corrupted(let path, let stream, let frame, let offset, let reason):
      return "trace '\(path)' is corrupted: stream '\(stream)', frame \(frame) "
        + "(at byte \(offset) of \(path)/\(stream)): \(reason). Events before that frame are "
        + "intact; to replay past it, record again."
    case .noSuchPosition(let path, let position, let reason):
      return "trace '\(path)' has no \(position): \(reason). Was the position taken on "
        + "another trace?"
    case .missingFile(let path, let hash, let originalPath):
      return "trace '\(path)' lacks files/\(hash), its saved copy of '\(originalPath)'. "
        + "Was the trace copied without its files/ directory? Copy the whole directory "
        + "(`cp -a` keeps the hard links), or record again."
    case .io(let path, let errno):
      return "cannot access '\(path)': \(SystemCall.errorMessage(errno)) (errno \(errno))."
    }
  }
}
