import Foundation

/// The QEMU programs VM mode runs, found in PATH, and their version.
public struct QEMUInstallation: Sendable {
  /// The command that installs everything VM mode needs (QEMU, qemu-img, busybox-static for
  /// the example guest, binutils for symbol files).
  public static let setupCommand = "scripts/setup.sh --vm (or: sudo apt-get install qemu-system-x86 qemu-utils busybox-static binutils)"

  public let system: String
  public let image: String
  /// The first line of `qemu-system-x86_64 --version`, e.g. "QEMU emulator version 7.2.22
  /// (Debian 1:7.2+dfsg-7+deb12u18+b3)".
  public let version: String

  /// Finds qemu-system-x86_64 and qemu-img, or says how to install them.
  public static func locate(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> QEMUInstallation {
    guard let system = findInPath("qemu-system-x86_64", environment: environment) else {
      throw VMError(.missingTool, "qemu-system-x86_64 is not installed; VM mode needs it. Install it with: \(setupCommand)")
    }
    guard let image = findInPath("qemu-img", environment: environment) else {
      throw VMError(.missingTool, "qemu-img is not installed; VM mode needs it. Install it with: \(setupCommand)")
    }
    let output = try runCapturing([system, "--version"])
    guard output.status == 0, let first = output.text.split(separator: "\n").first, first.contains("version") else {
      throw VMError(.missingTool, "\(system) --version failed (status \(output.status)): \(output.text.prefix(200)); reinstall it with: \(setupCommand)")
    }
    return QEMUInstallation(system: system, image: image, version: String(first))
  }

  /// "7.2.22" out of the version line.
  public var versionNumber: String {
    let words = version.split(separator: " ")
    if let index = words.firstIndex(of: "version"), index + 1 < words.count { return String(words[index + 1]) }
    return version
  }

  public static func findInPath(_ name: String, environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
    let path = environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
    for directory in path.split(separator: ":") where !directory.isEmpty {
      let candidate = "\(directory)/\(name)"
      if access(candidate, X_OK) == 0 { return candidate }
    }
    return nil
  }
}

/// Runs a short command to its end and returns its status with stdout and stderr together.
public func runCapturing(_ arguments: [String], input: String? = nil) throws -> (status: Int32, text: String) {
  let process = Process()
  process.executableURL = URL(fileURLWithPath: arguments[0])
  process.arguments = Array(arguments.dropFirst())
  let pipe = Pipe()
  process.standardOutput = pipe
  process.standardError = pipe
  if input == nil { process.standardInput = FileHandle(forReadingAtPath: "/dev/null") }
  let inputPipe = input.map { _ in Pipe() }
  if let inputPipe { process.standardInput = inputPipe }
  do { try process.run() } catch { throw VMError(.missingTool, "cannot run \(arguments[0]): \(error)") }
  if let inputPipe, let input {
    inputPipe.fileHandleForWriting.write(Data(input.utf8))
    try? inputPipe.fileHandleForWriting.close()
  }
  let data = pipe.fileHandleForReading.readDataToEndOfFile()
  process.waitUntilExit()
  return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}
