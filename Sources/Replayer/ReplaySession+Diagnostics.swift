import Foundation
import LinuxTrace

/// REWIND_DEBUG_SKIP_MATCHES=EVENT:COUNT, for debugging rewind itself: the code point of
/// event EVENT is found with a trap a pass, its first COUNT matches passed over. When a
/// replay diverges after a preemption, the count at which it replays to the end shows the
/// recorded pass; `debugDumpMemory` then shows what told the passes apart.
let debugSkippedMatches: (event: UInt64, count: Int)? = {
  guard let text = getenv("REWIND_DEBUG_SKIP_MATCHES").map({ String(cString: $0) }) else { return nil }
  let parts = text.split(separator: ":").compactMap { Int($0) }
  return parts.count == 2 && parts[0] >= 0 && parts[1] >= 0 ? (UInt64(parts[0]), parts[1]) : nil
}()

/// REWIND_DEBUG_MEMORY_DUMP=DIR: where `debugDumpMemory` writes.
let debugMemoryDumpDirectory = getenv("REWIND_DEBUG_MEMORY_DUMP").map { String(cString: $0) }

extension ReplaySession {
  /// Writes the task's registers and every private writable mapping of its process to
  /// DIR/NAME (REWIND_DEBUG_MEMORY_DUMP), as text: "R" and the register words in hex, then
  /// for each mapping "M start size name" and its bytes in hex.
  func debugDumpMemory(_ task: ReplayTask, name: String) {
    guard let directory = debugMemoryDumpDirectory, let maps = try? readMaps(of: task.realTid) else { return }
    var text = ""
    if let registers = try? currentRegisters(task) { text += "R " + registers.words.map { String($0, radix: 16) }.joined(separator: " ") + "\n" }
    for mapping in maps where mapping.permissions.hasPrefix("rw") && mapping.isPrivate {
      guard let bytes = try? task.tracee.readMemory(at: mapping.start, count: Int(mapping.end - mapping.start)) else { continue }
      text += "M \(String(mapping.start, radix: 16)) \(bytes.count) \(mapping.name)\n"
      text += bytes.map { String(format: "%02x", $0) }.joined() + "\n"
    }
    FileManager.default.createFile(atPath: directory + "/" + name, contents: Data(text.utf8))
  }
}
