import ArgumentParser
import Foundation
import Glibc

/// Finds the program to record the way execvp(3) would, so that errors can be reported
/// before anything is traced: 127 for a missing program, 126 for one that cannot run.
enum ProgramLocator {
  static func locate(_ name: String) throws -> String {
    if name.contains("/") {
      try checkExecutable(name)
      return name
    }
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
    var nonExecutable: String?
    for directory in path.split(separator: ":", omittingEmptySubsequences: false) {
      let candidate = (directory.isEmpty ? "." : String(directory)) + "/" + name
      if isRegularFile(candidate) {
        if access(candidate, X_OK) == 0 { return candidate }
        nonExecutable = nonExecutable ?? candidate
      }
    }
    if let nonExecutable { try checkExecutable(nonExecutable) }
    throw fail("cannot find '\(name)': no such program in PATH (\(path)).", status: ExitCodes.notFound)
  }

  private static func checkExecutable(_ path: String) throws {
    var info = stat()
    if stat(path, &info) != 0 {
      throw fail("cannot run '\(path)': no such file or directory.", status: ExitCodes.notFound)
    }
    if (info.st_mode & S_IFMT) == S_IFDIR {
      throw fail("cannot run '\(path)': it is a directory.", status: ExitCodes.cannotExecute)
    }
    if access(path, X_OK) != 0 {
      throw fail("cannot run '\(path)': permission denied (is it executable? chmod +x \(path)).", status: ExitCodes.cannotExecute)
    }
  }

  private static func isRegularFile(_ path: String) -> Bool {
    var info = stat()
    return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
  }
}
