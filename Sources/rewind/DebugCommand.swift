import ArgumentParser
import CSupport
import Foundation
import GDBRemote
import LinuxTrace
import Replayer
import TraceFormat

/// `rewind replay` with a debugger: serve the replay over the GDB remote protocol and
/// launch gdb on it (or, with -s, print how to connect).
struct DebugCommand {
  let directory: String
  let forked: Int32?
  let execed: Int32?
  let event: UInt64?
  let port: UInt16?
  let host: String
  let quiet: Bool
  let checkpointEvery: CheckpointSpacing
  let gdbArguments: [String]

  func run() throws {
    let files: RecordingFiles
    do { files = try RecordingFiles(directory: directory) } catch { throw fail("\(error)", status: ExitCodes.badTrace) }
    let table = files.processes
    let (pid, start, historyStart) = try debuggedProcess(table, files)
    let replay: DebugReplay
    do {
      let scope = pid == table.processes.first?.pid ? nil : pid
      replay = try DebugReplay(
        options: ReplayOptions(traceDirectory: directory, echoOutput: !quiet, process: scope), pid: pid, start: start,
        historyStart: historyStart, checkpointEvery: checkpointEvery)
    } catch {
      throw fail("\(error)", status: ExitCodes.badTrace)
    }
    let cpu = TracerThread.currentCPU()
    let firstStop: DebugStop
    switch replay.start(cpu: cpu) {
    case .success(let stop): firstStop = stop
    case .failure(let error):
      _ = replay.end()
      throw fail("\(error)", status: error is Divergence ? ExitCodes.divergence : ExitCodes.badTrace)
    }
    let target = ReplayDebugTarget(replay: replay, files: files, firstStop: firstStop)
    let server: GDBServer
    do {
      // With gdb launched here, its connecting and leaving is no news to the user.
      let launched = port == nil
      server = try GDBServer(target: target, host: host, port: port ?? 0, log: { message in
        if launched && (message.hasPrefix("gdb connected on port") || message.hasPrefix("gdb session ended")) { return }
        FileHandle.standardError.write(Data("rewind: \(message)\n".utf8))
      })
    } catch {
      _ = replay.end()
      throw fail("\(error)", status: 1)
    }
    let address = "\(host == "0.0.0.0" ? "127.0.0.1" : host):\(server.port)"
    let sysroot = Sysroot(files: files)
    defer { sysroot?.remove() }
    // The executable by its recorded path when the file there is still what ran: gdb then
    // names it as the process's maps do, which GEF's `got` needs (it looks for the mapping of
    // the file gdb debugs, and runs readelf on that path). Else gdb reads the sysroot's copy.
    let executable = files.exec(of: pid, before: firstStop.eventIndex).map(\.executable.originalPath).flatMap { path in
      files.savedCopies[path].flatMap { FileManager.default.contentsEqual(atPath: path, andPath: $0) ? path : nil }
    }
    let sysrootCommand = (sysroot.map { ["-ex", "set sysroot \($0.path)"] } ?? []) + (executable.map { ["-ex", "file \($0)"] } ?? [])
    var gdb: pid_t?
    if port != nil {
      // On stdout, before anything the replay echoes: scripts read the port from it (-s 0).
      let setSysroot = (sysroot.map { " -ex 'set sysroot \($0.path)'" } ?? "") + (executable.map { " -ex 'file \($0)'" } ?? "")
      FileHandle.standardOutput.write(
        Data(
          ("rewind: serving process \(pid) at event \(firstStop.eventIndex) on \(host):\(server.port); connect with:\n"
            + "  gdb\(setSysroot) -ex 'target remote \(address)'\n").utf8))
    } else {
      rewind_ignore_interrupts()
      gdb = try launchGDB(address, before: sysrootCommand)
    }
    // A gdb that dies before it connects (not installed, a bad argument) must not leave
    // the server waiting for it.
    var gdbStatus: Int32?
    let served = Result {
      try server.serve(stopWaiting: gdb.map { pid in { gdbStatus = reaped(pid); return gdbStatus != nil } })
    }
    let gdbMissing = gdb.map { !waitForGDB($0, status: gdbStatus) } ?? false
    let outcome = replay.end()
    if case .failure(let error) = served { throw fail("\(error)", status: 1) }
    if gdbMissing { throw ExitCode(1) }
    if case .success(false) = served, let status = gdbStatus {
      // gdb ended before it connected: a bad argument, say (gdb said which).
      let how = rewind_wifexited(status) != 0 ? "with status \(rewind_wexitstatus(status))" : "by signal \(rewind_wtermsig(status))"
      throw fail("gdb ended \(how) before it connected to the replay; see its message above", status: 1)
    }
    switch outcome ?? (target.failure.map { .failure($0) }) {
    case .failure(let error as Divergence)?:
      FileHandle.standardError.write(Data("\(error)\n".utf8))
      throw ExitCode(ExitCodes.divergence)
    case .failure(let error)?:
      throw fail("the replay failed: \(error)", status: ExitCodes.divergence)
    default:
      break
    }
  }

  /// Which process gdb debugs, and from where.
  private func debuggedProcess(_ table: ProcessTable, _ files: RecordingFiles) throws -> (Int32, DebugStart, DebugStart) {
    guard let root = table.processes.first else { throw fail("the trace at \(directory) holds no events", status: ExitCodes.badTrace) }
    let known = table.processes.map { String($0.pid) }.joined(separator: ", ")
    if let event, event >= files.eventCount {
      throw fail("event \(event) is past the end of the recording (its events are 0-\(files.eventCount - 1); see `rewind dump`)", status: 1)
    }
    if let pid = forked ?? execed {
      guard let process = table.process(pid) else {
        throw fail("the recording has no process \(pid); its processes are \(known) (see `rewind ps`)", status: 1)
      }
      if table.threads[pid] != nil {
        throw fail("\(pid) is a thread of process \(table.processOf(pid)); debug that process", status: 1)
      }
      if let forked {
        guard process.forkEvent != nil else {
          throw fail("process \(forked) was not forked during the recording (it is the root); debug it with `rewind replay`", status: 1)
        }
        return (forked, event.map { .event($0) } ?? .processStart, .processStart)
      }
      guard let exec = files.execs[pid]?.last else {
        throw fail("process \(pid) never exec'd during the recording; debug it from its fork with -f \(pid)", status: 1)
      }
      return (pid, event.map { .event(max($0, exec.index + 1)) } ?? .afterExec(eventIndex: exec.index), .afterExec(eventIndex: exec.index))
    }
    return (root.pid, event.map { .event($0) } ?? .processStart, .processStart)
  }

  private func launchGDB(_ address: String, before: [String]) throws -> pid_t {
    let arguments = ["gdb", "-q"] + before + ["-ex", "target remote \(address)"] + gdbArguments
    var cStrings = arguments.map { strdup($0) }
    cStrings.append(nil)
    defer { for pointer in cStrings { free(pointer) } }
    let pid = rewind_spawn_in_foreground(cStrings)
    if pid < 0 { throw fail("cannot start gdb: \(String(cString: strerror(errno))) (install it: apt-get install gdb)", status: 1) }
    return pid
  }

  /// gdb's wait status if it has ended (and is now reaped), else nil.
  private func reaped(_ pid: pid_t) -> Int32? {
    var status: Int32 = 0
    return waitpid(pid, &status, WNOHANG) == pid ? status : nil
  }

  /// Waits for gdb unless `status` says it was already reaped; false when gdb could not
  /// be started.
  private func waitForGDB(_ pid: pid_t, status reapedStatus: Int32?) -> Bool {
    var status: Int32 = reapedStatus ?? 0
    if reapedStatus == nil { while waitpid(pid, &status, 0) == -1 && errno == EINTR {} }
    rewind_take_terminal_back()
    if rewind_wifexited(status) != 0 && rewind_wexitstatus(status) == 127 {
      FileHandle.standardError.write(Data("rewind: gdb could not be started (is it installed? apt-get install gdb)\n".utf8))
      return false
    }
    return true
  }
}
