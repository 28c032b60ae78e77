import ArgumentParser
import Foundation
import LinuxTrace
import Recorder
import Syscalls
import TraceFormat

extension Rewind {
  struct Record: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Record a program into a trace.",
      discussion: """
        The program runs as usual: stdin, stdout and stderr pass through, and rewind exits \
        with the program's status (128+N if a signal N killed it). SIGINT, SIGTERM and SIGHUP \
        sent to rewind are passed on to the program, and the trace is finished either way.
        """)

    @Option(name: .shortAndLong, help: "Directory to write the trace to (must not exist yet).")
    var output: String?

    @Option(
      name: .customLong("inject"),
      help: ArgumentHelp(
        "Make system calls fail or return a value, in strace's syntax (repeatable).",
        discussion: "SYSCALL[,SYSCALL...]:error=ERRNO or :retval=N, optionally :when=N, N+, N+STEP, N..M (each thread's calls counted from 1). Example: --inject=write:error=ENOSPC:when=3",
        valueName: "RULE"))
    var injections: [String] = []

    @Flag(
      name: .customLong("syscall-buffer"),
      help: ArgumentHelp(
        "Record common system calls without ptrace stops (experimental; off by default).",
        discussion: "Loads librewind_preload.so, found next to the rewind executable, into the program with LD_PRELOAD: read, write, pread64 and pwrite64 on any descriptor, lseek, fstat, stat, lstat, fstatat, statx, poll, recv and send, clock_gettime, gettimeofday, time, getpid and gettid made through libc's functions are performed by it and written to the trace at the thread's next stop; a call that blocks (a read of an empty pipe) becomes an ordinary traced call, through a per-thread context-switch counter. Calls libc makes internally (futex...), raw syscall instructions and static programs record as before."))
    var syscallBuffer = false

    @Argument(parsing: .captureForPassthrough, help: "The program and its arguments.")
    var command: [String] = []

    func validate() throws {
      if command.isEmpty { throw ValidationError("Say what to record: rewind record ./myprog arg1 arg2") }
      for rule in injections {
        do { _ = try InjectionRule(parsing: rule) } catch { throw ValidationError("--inject=\(rule): \(error)") }
      }
    }

    func run() throws {
      let program = try ProgramLocator.locate(command[0])
      // Blocked before any thread starts so every thread inherits the mask and only the
      // forwarding thread takes these signals; the tracee unblocks them before exec.
      let forwarder = SignalForwarder(signals: [SIGINT, SIGTERM, SIGHUP, SIGQUIT])
      let root = TraceLocation.defaultRoot()
      let directory: String
      do {
        if let output {
          try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
          directory = output
        } else {
          directory = try TraceLocation.makeNewTraceDirectory(root: root, executableName: program)
        }
      } catch {
        throw fail("cannot create the trace directory: \(error)", status: ExitCodes.recordFailed)
      }
      var header = TraceHeader(
        command: command, cwd: FileManager.default.currentDirectoryPath,
        syscallTableHash: SyscallTable.tableHash, rewindVersion: Rewind.version)
      // The program inherits them (the forwarded signals are blocked, not handled).
      header.ignoredSignals = ignoredSignalsOfThisProcess()
      let writer: TraceWriter
      do { writer = try TraceWriter(directory: directory, header: header) } catch {
        throw fail("cannot write a trace in '\(directory)': \(error)", status: ExitCodes.recordFailed)
      }
      if output == nil { try? TraceLocation.updateLatest(root: root, directory: directory) }
      var options = RecordOptions(
        executablePath: program, arguments: command, environment: environmentStrings(),
        traceDirectory: directory, rewindVersion: Rewind.version)
      options.injections = injections.compactMap { try? InjectionRule(parsing: $0) }
      if syscallBuffer { options.syscallBufferLibrary = try syscallBufferLibrary() }
      let session = RecordSession(options: options, writer: writer)
      let cpu = TracerThread.currentCPU()
      let result = TracerThread.run(pinnedTo: cpu) {
        Result { try session.run(cpu: cpu, onSpawn: { forwarder.forward(toRoot: $0, thenTo: { session.liveProcesses }) }) }
      }
      forwarder.stopForwarding()
      var status: ExitStatus?
      var exitCode: Int32
      switch result {
      case .success(let outcome):
        status = outcome.exitStatus.traceStatus
        exitCode = outcome.exitStatus.shellStatus
      case .failure(let error):
        FileHandle.standardError.write(Data("\(error)\n".utf8))
        if case RecordError.execFailed(_, _, let code) = error { exitCode = code } else { exitCode = ExitCodes.recordFailed }
      }
      do {
        try writer.finish(summary: TraceSummary(exitStatus: status, eventCount: writer.eventCount))
      } catch {
        FileHandle.standardError.write(Data("rewind: finishing the trace in '\(directory)' failed: \(error)\n".utf8))
        if exitCode == 0 { exitCode = ExitCodes.recordFailed }
      }
      throw ExitCode(exitCode)
    }
  }
}

extension ExitStatusOfRoot {
  var traceStatus: ExitStatus {
    switch self {
    case .exited(let code): .exited(code: code)
    case .killed(let signal): .killed(signal: signal, coreDumped: false)
    }
  }
}

/// Our environment in its original order, as the program would inherit it.
func environmentStrings() -> [String] {
  var strings: [String] = []
  var cursor = environ
  while let entry = cursor.pointee {
    strings.append(String(cString: entry))
    cursor += 1
  }
  return strings
}

/// Prints `message` to stderr and returns the exit to throw.
func fail(_ message: String, status: Int32) -> ExitCode {
  FileHandle.standardError.write(Data("rewind: \(message)\n".utf8))
  return ExitCode(status)
}

extension Rewind.Record {
  /// librewind_preload.so beside this executable (SwiftPM builds both into one directory).
  func syscallBufferLibrary() throws -> String {
    let executable = (try? String(decoding: readLinkBytes("/proc/self/exe"), as: UTF8.self)) ?? CommandLine.arguments[0]
    let directory = executable.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
    let library = directory + "/librewind_preload.so"
    guard access(library, R_OK) == 0 else {
      throw ValidationError("--syscall-buffer needs \(library), which is not there or not readable: build it with `swift build` (it is the rewind_preload product), or record without --syscall-buffer")
    }
    return library
  }
}

private func readLinkBytes(_ path: String) throws -> [UInt8] {
  var buffer = [UInt8](repeating: 0, count: 4096)
  let n = buffer.withUnsafeMutableBytes { readlink(path, $0.baseAddress!.assumingMemoryBound(to: CChar.self), 4096) }
  if n < 0 { throw ValidationError("readlink \(path)") }
  return Array(buffer[0..<n])
}
