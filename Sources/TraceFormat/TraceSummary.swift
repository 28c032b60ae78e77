import Foundation

/// summary.json, written when a recording finishes cleanly. A trace without it was cut short
/// (the recorder was killed or crashed) and its streams may end mid-frame.
public struct TraceSummary: Codable, Equatable, Sendable {
  /// How the root process of the recording ended; nil if the recorder stopped first.
  public var exitStatus: ExitStatus?
  public var eventCount: UInt64
  /// When recording ended, to the millisecond.
  public var endTime: Date
  /// Compressed bytes per stream ("events", "data", "mmaps"), frame headers included.
  public var streamBytes: [String: UInt64]
  public var uncompressedBytes: [String: UInt64]

  public init(
    exitStatus: ExitStatus?, eventCount: UInt64 = 0, endTime: Date = Date(),
    streamBytes: [String: UInt64] = [:], uncompressedBytes: [String: UInt64] = [:]
  ) {
    self.exitStatus = exitStatus
    self.eventCount = eventCount
    self.endTime = TraceJSON.roundedToMilliseconds(endTime)
    self.streamBytes = streamBytes
    self.uncompressedBytes = uncompressedBytes
  }
}
