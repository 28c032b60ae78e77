import Foundation

/// A directory laid out like the recorded machine's root for what the program mapped: each
/// file at its recorded path, a link to the trace's saved copy. gdb pointed at it (`set
/// sysroot`) reads the executable and libraries locally, fast, and tools that open them by
/// path (GEF's `checksec`) find them, even where this machine's files changed or are gone.
struct Sysroot {
  let path: String

  /// Made under the system's temporary directory; nil if it cannot be (gdb then reads the
  /// files through the connection, as before).
  init?(files: RecordingFiles) {
    var template = Array((NSTemporaryDirectory() + "rewind-sysroot-XXXXXX").utf8CString)
    guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else { return nil }
    path = String(cString: made)
    let manager = FileManager.default
    func link(_ recorded: String, to saved: String) {
      // The trace may have been named relative to the working directory.
      guard let absolute = realpath(saved, nil) else { return }
      defer { free(absolute) }
      let saved = String(cString: absolute)
      let at = path + recorded
      try? manager.createDirectory(atPath: (at as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
      try? manager.createSymbolicLink(atPath: at, withDestinationPath: saved)
    }
    // The merged-/usr links of this machine (/lib -> usr/lib), relative, so that a library
    // the loader names /lib/x86_64-linux-gnu/libc.so.6 is the one mapped from /usr/lib/...
    for top in ["bin", "sbin", "lib", "lib32", "lib64", "libx32"] {
      if let destination = try? manager.destinationOfSymbolicLink(atPath: "/" + top), !destination.hasPrefix("/") {
        try? manager.createDirectory(atPath: path + "/" + destination, withIntermediateDirectories: true)
        try? manager.createSymbolicLink(atPath: path + "/" + top, withDestinationPath: destination)
      }
    }
    for (recorded, saved) in files.savedCopies where recorded.hasPrefix("/") { link(recorded, to: saved) }
    // The loader as programs name it (PT_INTERP, /lib64/ld-linux-x86-64.so.2), an absolute
    // link on this machine to the file that was mapped.
    for directory in ["/lib64", "/lib"] {
      for entry in (try? manager.contentsOfDirectory(atPath: directory)) ?? [] where entry.hasPrefix("ld-") {
        let alias = directory + "/" + entry
        guard let resolved = realpath(alias, nil) else { continue }
        defer { free(resolved) }
        let target = String(cString: resolved)
        if target != alias, let saved = files.savedCopies[target], (try? manager.destinationOfSymbolicLink(atPath: path + alias)) == nil {
          link(alias, to: saved)
        }
      }
    }
  }

  func remove() { try? FileManager.default.removeItem(atPath: path) }
}
