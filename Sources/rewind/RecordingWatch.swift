import ArgumentParser
import Foundation
import GDBRemote
import LinuxTrace
import Replayer
import Symbols
import TraceFormat
import Watch

/// `rewind watch ... TRACE`: replays one recorded process with the watch set through the
/// replay's debug registers (the ones gdb gets: DR1-DR3, since DR0 finds code points), and
/// reports every hit in order with its event, the way gdb would stop at it, without gdb.
/// Writes the kernel made for an emulated call (a `read` into the range) count too: the
/// replay reports them at the call's return, as it does to gdb.
struct RecordingWatch {
  let command: Rewind.WatchMemory

  func run() throws {
    let directory: String
    do { directory = try TraceLocation.resolve(command.trace, root: TraceLocation.defaultRoot()) } catch {
      throw fail("\(error)", status: ExitCodes.badTrace)
    }
    let files: RecordingFiles
    do { files = try RecordingFiles(directory: directory) } catch { throw fail("\(error)", status: ExitCodes.badTrace) }
    let table = files.processes
    guard let root = table.processes.first else { throw fail("the trace at \(directory) holds no events", status: ExitCodes.badTrace) }
    let pid = command.process ?? root.pid
    guard table.process(pid) != nil else {
      let known = table.processes.map { String($0.pid) }.joined(separator: ", ")
      throw fail("the recording has no process \(pid); its processes are \(known) (see `rewind ps`)", status: 64)
    }
    // From the process's last exec: the program whose symbols are asked for is in place.
    let start: DebugStart = files.execs[pid]?.last.map { .afterExec(eventIndex: $0.index) } ?? .processStart
    let replay: DebugReplay
    do {
      replay = try DebugReplay(
        options: ReplayOptions(traceDirectory: directory, echoOutput: false, process: pid == root.pid ? nil : pid), pid: pid,
        start: start, checkpointEvery: .events(0))
    } catch {
      throw fail("\(error)", status: ExitCodes.badTrace)
    }
    let firstStop: DebugStop
    switch replay.start(cpu: TracerThread.currentCPU()) {
    case .success(let stop): firstStop = stop
    case .failure(let error):
      _ = replay.end()
      throw fail("\(error)", status: error is Divergence ? ExitCodes.divergence : ExitCodes.badTrace)
    }
    let target = ReplayDebugTarget(replay: replay, files: files, firstStop: firstStop)
    let outcome = Result { try watch(target, replay, pid) }
    let ended = replay.end()
    let hits = try outcome.get()
    if case .failure(let error as Divergence)? = ended {
      FileHandle.standardError.write(Data("\(error)\n".utf8))
      throw ExitCode(ExitCodes.divergence)
    }
    printToStandardError("rewind: the recording of process \(pid) ended; \(hits) hit\(hits == 1 ? "" : "s") reported")
  }

  private func maps(_ target: ReplayDebugTarget, _ pid: Int32) -> String? {
    guard case .contents(let bytes)? = target.procFile(pid: pid, name: "maps") else { return nil }
    return String(decoding: bytes, as: UTF8.self)
  }

  private func watch(_ target: ReplayDebugTarget, _ replay: DebugReplay, _ pid: Int32) throws -> Int {
    let symbolizer: Symbolizer
    do {
      symbolizer = try Symbolizer(
        pid: pid, maps: maps(target, pid) ?? "", locate: { target.hostPath(forTargetFile: $0) },
        read: { try? target.readMemory(at: $0, count: $1) })
    } catch {
      throw fail("\(error)", status: 1)
    }
    // To main first: before it the loader has not relocated pointers (--expr follows them)
    // nor mapped the libraries.
    if let main = symbolizer.symbol(named: "main"), main.kind == .function {
      let breakpoint = Breakpoint(.hardware, address: main.address, size: 1)
      try target.insertBreakpoint(breakpoint)
      let stop = try target.resume([ResumeAction(.continue)])
      try target.removeBreakpoint(breakpoint)
      guard case .signal(_, _, .hardwareBreakpoint?) = stop else {
        throw fail("recorded process \(pid) ended before it reached main", status: 1)
      }
      if let text = maps(target, pid) { symbolizer.refresh(maps: text) }
    }
    let ranges: [WatchRange]
    do { ranges = try command.ranges(symbolizer) } catch let error as WatchError { throw fail(error.description, status: error.status) }
    // The replay keeps DR0 for itself: three registers here.
    let pieces = ranges.enumerated().flatMap { index, range in
      DebugRegisterPlan.pieces(address: range.address, length: range.length).map { (index, $0.address, $0.length) }
    }
    guard pieces.count <= 3 else {
      throw fail(
        "the ranges need \(pieces.count) debug registers and a replay has 3 (it keeps one to find its place): watch fewer or shorter ranges",
        status: 64)
    }
    for piece in pieces {
      try target.insertBreakpoint(Breakpoint(command.readWrite ? .accessWatchpoint : .writeWatchpoint, address: piece.1, size: piece.2))
    }
    var shadow = ranges.map { (try? target.readMemory(at: $0.address, count: $0.length)) ?? [] }
    let options = command.watchOptions
    printToStandardError(
      "rewind: watching \(ranges.map { "\($0.label) (\(hex($0.address)), \($0.length) bytes)" }.joined(separator: ", ")) in recorded process \(pid) from event \(target.lastEventIndex)")
    var hits = 0
    while true {
      if let maxHits = options.maxHits, hits >= maxHits { break }
      let stop = try target.resume([ResumeAction(.continue)])
      guard case .signal(_, let thread, let cause) = stop else { break }  // exited or killed: the end
      guard case .watchpoint(_, let address)? = cause,
        let index = pieces.first(where: { $0.1 <= address && address < $0.1 + UInt64($0.2) }).map({ $0.0 }) ?? pieces.first(where: { $0.1 == address })?.0
      else { continue }
      let range = ranges[index]
      let new = (try? target.readMemory(at: range.address, count: range.length)) ?? []
      let old = shadow[index]
      shadow[index] = new
      if options.changesOnly && old == new { continue }
      let registers = (try? replay.state(ofThread: thread.tid).general.words) ?? []
      let location = HitLocation(
        symbolizer: symbolizer, tid: thread.tid, registers: registers, depth: options.depth,
        read: { try? target.readMemory(at: $0, count: $1) },
        refresh: { if let text = maps(target, pid) { symbolizer.refresh(maps: text) } })
      if location.isIn(options.ignoredFunctions) { continue }
      hits += 1
      let report = WatchReport(
        kind: .hit, time: .event(target.lastEventIndex), pid: pid, tid: thread.tid, range: range,
        access: range.access == .write || old != new ? .write : .readOrWrite, pc: location.pc,
        old: old, new: new, backtrace: location.frames)
      writeOut(options.json ? report.json : report.text)
    }
    return hits
  }
}
