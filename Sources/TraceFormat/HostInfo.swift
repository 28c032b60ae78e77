import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// The facts about this machine that go into a trace header.
public struct HostInfo {
  var cpuModel: String
  var hostname: String
  var kernelRelease: String

  static func current() -> HostInfo {
    // uname, not ProcessInfo.hostName: on Linux the latter may resolve the name through DNS.
    var names = utsname()
    uname(&names)
    return HostInfo(
      cpuModel: cpuModel(),
      hostname: field(&names.nodename),
      kernelRelease: field(&names.release))
  }

  /// The first "model name" line of /proc/cpuinfo, or "unknown"; replay compares it with the
  /// header's.
  public static func cpuModel(cpuinfo path: String = "/proc/cpuinfo") -> String {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return "unknown" }
    for line in text.split(separator: "\n") where line.hasPrefix("model name") {
      if let colon = line.firstIndex(of: ":") {
        return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
      }
    }
    return "unknown"
  }

  private static func field<T>(_ tuple: inout T) -> String {
    withUnsafeBytes(of: &tuple) { raw in
      String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
    }
  }
}
