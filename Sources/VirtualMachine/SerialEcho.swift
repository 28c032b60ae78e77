import Foundation

/// Copies what QEMU appends to a serial output file onto a file handle (rewind's stdout),
/// as it grows: the guest's console, live, while recording and replaying.
final class SerialEcho {
  private let path: String
  private let output: FileHandle?
  private var offset: UInt64 = 0

  init(path: String, output: FileHandle?) {
    self.path = path
    self.output = output
  }

  /// Copies whatever is new.
  func pump() {
    guard let output, let handle = FileHandle(forReadingAtPath: path) else { return }
    defer { try? handle.close() }
    try? handle.seek(toOffset: offset)
    guard let data = try? handle.readToEnd(), !data.isEmpty else { return }
    offset += UInt64(data.count)
    output.write(data)
  }
}

/// Progress on stderr: one line rewritten in place on a terminal, a line every few seconds
/// otherwise.
final class ProgressLine {
  private let isTerminal = isatty(2) != 0
  private var lastPrinted = Date.distantPast
  private var shown = false

  func update(_ text: String) {
    if isTerminal {
      FileHandle.standardError.write(Data("\r\u{1b}[K\(text)".utf8))
      shown = true
    } else if Date().timeIntervalSince(lastPrinted) >= 5 {
      FileHandle.standardError.write(Data("\(text)\n".utf8))
      lastPrinted = Date()
    }
  }

  func finish() {
    if shown { FileHandle.standardError.write(Data("\r\u{1b}[K".utf8)) }
    shown = false
  }
}
