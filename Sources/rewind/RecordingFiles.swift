import Glibc
import Replayer
import TraceFormat

/// What a debugger needs to know of a recording before it replays: the files the
/// processes mapped (gdb reads them through the target) and each process's execs.
struct RecordingFiles {
  /// Saved copies by the path the program knew: the latest version mapped from each path.
  private(set) var savedCopies: [String: String] = [:]
  /// Exec events by the recorded pid that exec'd, in order.
  private(set) var execs: [Int32: [ExecEvent]] = [:]
  private(set) var eventCount: UInt64 = 0
  /// Who forked whom, for the image a child runs before it execs.
  private(set) var processes = ProcessTable()
  /// Each mapping the processes made with mmap, in order: replay copies small file mappings
  /// into anonymous memory, which its maps then show without a name; the anonymous ones
  /// (a library's .bss over the end of its data) say where a file mapping no longer reaches.
  private(set) var fileMappings: [FileMapping] = []
  /// Each process's working directory through the recording.
  private(set) var workingDirectories = WorkingDirectories()
  /// Saved copies' paths on this machine (as given and resolved), to the paths the program knew.
  private(set) var originalPaths: [String: String] = [:]

  struct FileMapping {
    var pid: Int32
    var eventIndex: UInt64
    var start: UInt64
    var end: UInt64
    var offset: UInt64
    /// nil for anonymous memory.
    var path: String?
  }

  init(directory: String) throws {
    let reader = try TraceReader(directory: directory)
    while let event = try reader.nextEvent() {
      eventCount = event.index + 1
      processes.add(event)
      workingDirectories.add(event, processes: processes)
      switch event {
      case .exec(let exec):
        execs[exec.tid, default: []].append(exec)
        note(exec.executable, reader)
        for mapping in exec.mappings {
          if let file = mapping.file { note(file, reader) }
        }
      case .syscall(let call):
        let arguments = call.entryRegisters.syscallArguments
        if call.number == 9, call.mappedFile == nil, call.result > 0, arguments[3] & 0x20 != 0, arguments[1] > 0 {  // MAP_ANONYMOUS
          let start = UInt64(call.result)
          fileMappings.append(
            FileMapping(
              pid: processes.processOf(call.tid), eventIndex: call.index, start: start, end: start + (arguments[1] + 4095) / 4096 * 4096,
              offset: 0, path: nil))
        }
        if let file = call.mappedFile {
          note(file, reader)
          if call.result > 0 && arguments[1] > 0 {
            let start = UInt64(call.result)
            fileMappings.append(
              FileMapping(
                pid: processes.processOf(call.tid), eventIndex: call.index, start: start,
                end: start + (arguments[1] + 4095) / 4096 * 4096, offset: arguments[5], path: file.originalPath))
          }
        }
      default:
        break
      }
    }
    for (original, saved) in savedCopies {
      originalPaths[saved] = original
      if let resolved = realpath(saved, nil) {
        originalPaths[String(cString: resolved)] = original
        free(resolved)
      }
    }
  }

  /// A replayed process's `maps` (of recorded process `pid`, before event `eventIndex`) as the
  /// recorded process had them: each saved copy's path replaced by the path the program
  /// mapped, and anonymous copies of small file mappings named (`named`).
  func recordedMaps(_ maps: String, of pid: Int32, before eventIndex: UInt64) -> String {
    let mapped = fileMappings.filter { $0.pid == pid && $0.eventIndex < eventIndex }
    let lines = maps.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
      // The path is the sixth field, after the inode and its padding.
      if let slash = line.firstIndex(of: "/") {
        guard let original = originalPaths[String(line[slash...])] else { return String(line) }
        return line[..<slash] + original
      }
      return named(line, mapped) ?? String(line)
    }.joined(separator: "\n").split(separator: "\n", omittingEmptySubsequences: false)
    // Adjacent anonymous lines with the same permissions are one area to the kernel of the
    // recording, which merges them (a library's .bss and the anonymous mapping after it);
    // replay's own mappings leave them apart.
    var merged: [Substring] = []
    for line in lines {
      let fields = line.split(separator: " ")
      if fields.count == 5, fields[4] == "0", let previous = merged.last, case let before = previous.split(separator: " "), before.count == 5,
        before[4] == "0", before[1] == fields[1], before[0].split(separator: "-").last == fields[0].split(separator: "-").first,
        let end = fields[0].split(separator: "-").last, let start = before[0].split(separator: "-").first
      {
        merged[merged.count - 1] = Substring("\(start)-\(end) \(fields[1]) \(fields[2]) \(fields[3]) 0")
      } else {
        merged.append(line)
      }
    }
    return merged.joined(separator: "\n")
  }

  /// An anonymous line of maps that recorded file mappings cover, as the recorded process
  /// had it: each part a file mapping was the latest to cover gets that file's name and
  /// offset, the rest stays anonymous (replay's copy of a library's data and the .bss the
  /// loader mapped after it make one anonymous area, which the recorded process had as a
  /// named line and an anonymous one). Nil when no file mapping covers any of it.
  private func named(_ line: Substring, _ mapped: [FileMapping]) -> String? {
    let fields = line.split(separator: " ", omittingEmptySubsequences: true)
    guard fields.count == 5, fields[4] == "0", let dash = fields[0].firstIndex(of: "-"),
      let start = UInt64(fields[0][..<dash], radix: 16), let end = UInt64(fields[0][fields[0].index(after: dash)...], radix: 16)
    else { return nil }
    let covering = mapped.filter { $0.start < end && start < $0.end }
    guard covering.contains(where: { $0.path != nil }) else { return nil }
    // Cut where a covering mapping starts or ends; each piece is the latest mapping's there.
    let cuts = Set([start, end] + covering.flatMap { [$0.start, $0.end] }.filter { start < $0 && $0 < end }).sorted()
    var pieces: [(start: UInt64, end: UInt64, mapping: FileMapping?)] = []
    for (from, to) in zip(cuts, cuts.dropFirst()) {
      let mapping = covering.last { $0.start <= from && to <= $0.end }.flatMap { $0.path == nil ? nil : $0 }
      if let last = pieces.last, last.end == from, last.mapping?.path == mapping?.path,
        last.mapping.map({ $0.offset + (from - $0.start) }) == mapping.map({ $0.offset + (from - $0.start) })
      {
        pieces[pieces.count - 1].end = to
      } else {
        pieces.append((from, to, mapping))
      }
    }
    return pieces.map { piece in
      // (As the kernel writes them: at least 8 hex digits.)
      func address(_ value: UInt64) -> String { let text = String(value, radix: 16); return String(repeating: "0", count: max(0, 8 - text.count)) + text }
      let range = address(piece.start) + "-" + address(piece.end)
      guard let mapping = piece.mapping, let path = mapping.path else { return "\(range) \(fields[1]) 00000000 00:00 0" }
      let offset = String(mapping.offset + (piece.start - mapping.start), radix: 16)
      let padded = String(repeating: "0", count: max(0, 8 - offset.count)) + offset
      return "\(range) \(fields[1]) \(padded) \(fields[3]) \(fields[4])" + String(repeating: " ", count: 26) + path
    }.joined(separator: "\n")
  }

  /// Where to read a file the recording names: its saved copy, else the file itself if it
  /// is readable here.
  func hostPath(forRecordedFile path: String) -> String? {
    if let saved = savedCopies[path] { return saved }
    if let resolved = realpath(path, nil) {
      defer { free(resolved) }
      if let saved = savedCopies[String(cString: resolved)] { return saved }
    }
    return access(path, R_OK) == 0 ? path : nil
  }

  private mutating func note(_ file: MappedFile, _ reader: TraceReader) {
    savedCopies[file.originalPath] = reader.savedFilePath(for: file)
  }

  /// The exec that made the image `pid` runs at event `index`: its own last exec by then,
  /// or, for a child that has not exec'd, its parent's at the fork.
  func exec(of pid: Int32, before index: UInt64) -> ExecEvent? {
    var (pid, index) = (processes.processOf(pid), index)
    while true {
      if let exec = execs[pid]?.last(where: { $0.index <= index }) { return exec }
      guard let process = processes.process(pid), let parent = process.parent, let fork = process.forkEvent else {
        return execs[pid]?.first
      }
      (pid, index) = (parent, fork)
    }
  }
}

extension ExecEvent {
  /// The auxiliary vector from the recorded initial stack: past argc, argv and envp, the
  /// (type, value) pairs up to AT_NULL, as /proc/PID/auxv holds them.
  var auxiliaryVector: [UInt8] {
    let bytes = initialStack.bytes
    func word(_ index: Int) -> UInt64? {
      guard (index + 1) * 8 <= bytes.count else { return nil }
      return bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: index * 8, as: UInt64.self) }
    }
    // The decoder checked that argc fits the stack; a stack without the NULLs that end argv
    // and envp has no auxiliary vector.
    guard let argc = word(0), argc < bytes.count / 8 else { return [] }
    var index = Int(argc) + 2  // argc, the argv pointers and their NULL
    while let pointer = word(index), pointer != 0 { index += 1 }
    index += 1  // envp's NULL
    let start = index
    guard start * 8 < bytes.count else { return [] }
    while let type = word(index), type != 0 { index += 2 }
    return Array(bytes[(start * 8)..<min(bytes.count, (index + 2) * 8)])
  }
}
