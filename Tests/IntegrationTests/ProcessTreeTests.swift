// Process trees: record a program that forks, execs, talks over pipes and
// sockets, replay the whole tree and single processes of it, and list its
// processes with `rewind ps`.

import Foundation
import Testing

/// `rewind replay -a --process PID DIR`: replays that process alone (and its
/// ancestors up to the fork that made it); checks that it was faithful and
/// returns what it echoed.
@discardableResult
func assertReplayProcess(
  _ traceDir: String, _ pid: Int32, sourceLocation: SourceLocation = #_sourceLocation
) throws -> ProcessResult {
  let replay = try Harness.replay(traceDir, extraArguments: ["--process", "\(pid)"])
  #expect(
    replay.exitedNormally && replay.status == 0,
    "replay of process \(pid) alone should exit 0 (faithful)\n\(replay.summary)",
    sourceLocation: sourceLocation)
  #expect(!replay.stderr.contains("Fatal error"), "\(replay.summary)", sourceLocation: sourceLocation)
  return replay
}

/// `rewind ps DIR` (text): the header line and the tab-separated rows.
func psText(_ traceDir: String) throws -> (header: Substring, rows: [[Substring]]) {
  let result = try Harness.rewind(["ps", traceDir])
  guard result.exitedNormally && result.status == 0 else {
    throw HarnessError.commandFailed("rewind ps", result)
  }
  let lines = result.stdout.split(separator: "\n")
  guard let header = lines.first else { throw HarnessError.commandFailed("rewind ps (no output)", result) }
  return (header, lines.dropFirst().map { $0.split(separator: "\t", maxSplits: 3, omittingEmptySubsequences: false) })
}

@Suite(.enabled(if: Harness.hasCompiler, "needs a C compiler: apt-get install gcc"))
struct ProcessTreeTests {
  /// Four children made by fork, each with its own pipe and exit status; the
  /// pids, messages and statuses replay as recorded, and so does one child alone.
  @Test func forkPipeWait() throws {
    let result = try assertRecordReplay("fork_pipe_wait")
    for i in 0..<4 {
      #expect(result.record.stdout.contains("parent read: hello from child \(i)\n"), "\(result.record.summary)")
    }
    let processes = try Harness.ps(result.traceDir)
    try #require(processes.count == 5, "expected the root and 4 children: \(processes)")
    let root = processes[0]
    for (i, child) in processes.dropFirst().enumerated() {
      #expect(result.record.stdout.contains("child \(i) (pid \(child.pid)) exited with \(10 + i)\n"))
      #expect(child.ppid == root.pid)
    }

    let child = processes[2]
    let alone = try assertReplayProcess(result.traceDir, child.pid)
    #expect(
      alone.stdout == "child 1: pid \(child.pid), parent \(root.pid), writing to the pipe\n",
      "only child 1's own line should be echoed\n\(alone.summary)")
  }

  /// `rewind ps --json`: creation order, parents, exit codes and command lines.
  @Test func psJSONOfForkPipeWait() throws {
    let result = try assertRecordReplay("fork_pipe_wait")
    let processes = try Harness.ps(result.traceDir)
    try #require(processes.count == 5, "expected the root and 4 children: \(processes)")
    let root = processes[0]
    #expect(root.ppid == nil && root.exitCode == 0 && root.signal == nil, "\(root)")
    #expect(root.command == [result.executable])
    #expect(result.record.stdout.contains("parent \(root.pid),"), "the root pid is the recorded one")
    for (i, child) in processes.dropFirst().enumerated() {
      #expect(child.ppid == root.pid, "\(child)")
      #expect(child.exitCode == Int32(10 + i) && child.signal == nil, "\(child)")
      #expect(child.command == root.command, "a child that never exec'd shows its parent's command")
    }
    #expect(Set(processes.map(\.pid)).count == 5, "pids must be distinct: \(processes)")
  }

  /// `rewind ps` as text: a header, then PID, PPID (`-` for the root), EXIT, CMD.
  @Test func psTextOfForkPipeWait() throws {
    let result = try assertRecordReplay("fork_pipe_wait")
    let ps = try psText(result.traceDir)
    #expect(ps.header == "PID\tPPID\tEXIT\tCMD")
    try #require(ps.rows.count == 5, "\(ps.rows)")
    let rootPid = ps.rows[0][0]
    #expect(ps.rows[0] == [rootPid, "-", "0", Substring(result.executable)])
    for (i, row) in ps.rows.dropFirst().enumerated() {
      #expect(row.count == 4 && Int32(row[0]) != nil, "\(row)")
      #expect(row.dropFirst() == [rootPid, Substring("\(10 + i)"), Substring(result.executable)], "\(row)")
      #expect(result.record.stdout.contains("child \(i) (pid \(row[0])) exited with \(10 + i)\n"))
    }
  }

  /// vfork + exec of /bin/echo: the child's line, its status, and its new command line.
  @Test func vforkExec() throws {
    let result = try assertRecordReplay("vfork_exec")
    #expect(result.record.stdout.contains("echo ran in the vfork child\n"), "\(result.record.summary)")
    #expect(result.record.stdout.contains("exited with 0\n"))
    let processes = try Harness.ps(result.traceDir)
    try #require(processes.count == 2, "\(processes)")
    let child = processes[1]
    #expect(child.command == ["echo", "echo ran in the vfork child"], "\(child)")
    #expect(child.exitCode == 0 && child.ppid == processes[0].pid, "\(child)")
    let alone = try assertReplayProcess(result.traceDir, child.pid)
    #expect(alone.stdout == "echo ran in the vfork child\n", "\(alone.summary)")
  }

  /// A TCP server (with poll) and its client in a forked child, over 127.0.0.1.
  @Test func tcpPair() throws {
    let result = try assertRecordReplay("tcp_pair")
    #expect(result.record.stdout.contains("server got: PING from the client\n"), "\(result.record.summary)")
    #expect(result.record.stdout.contains("client got: PONG from the server\n"))
    #expect(result.record.stdout.contains("client exited with 0\n"))
    let processes = try Harness.ps(result.traceDir)
    try #require(processes.count == 2, "\(processes)")
    let alone = try assertReplayProcess(result.traceDir, processes[1].pid)
    #expect(alone.stdout == "client got: PONG from the server\n", "\(alone.summary)")
  }

  /// The system shell runs a pipeline: only `HI` reached rewind's stdout, and
  /// only `HI` is echoed in replay. `tr` alone replays too.
  @Test func shellPipeline() throws {
    let result = try assertRecordReplayCommand(
      "sh-pipeline", ["/bin/sh", "-c", "echo hi | tr a-z A-Z"], printsExitSuccess: false)
    #expect(result.record.stdout == "HI\n", "\(result.record.summary)")
    #expect(result.replay.stdout == "HI\n", "\(result.replay.summary)")
    let processes = try Harness.ps(result.traceDir)
    #expect(processes.allSatisfy { $0.exitCode == 0 }, "\(processes)")
    let tr = try #require(processes.first { $0.command == ["tr", "a-z", "A-Z"] }, "no tr in \(processes)")
    let alone = try assertReplayProcess(result.traceDir, tr.pid)
    #expect(alone.stdout == "HI\n", "\(alone.summary)")
  }

  /// gcc -c runs cc1 and as: a tree of execs, temp files and pipes.
  @Test(.enabled(if: Harness.which("gcc") != nil, "needs gcc: apt-get install gcc"))
  func gccCompilation() throws {
    let work = try Harness.makeWorkDir("gcc")
    let source = work + "/tiny.c"
    let object = work + "/tiny.o"
    try "int add(int a, int b) { return a + b; }\n".write(toFile: source, atomically: true, encoding: .utf8)
    let gcc = try #require(Harness.which("gcc"))
    let result = try assertRecordReplayCommand(
      "gcc", [gcc, "-c", source, "-o", object], work: work,
      env: ["TMPDIR": work, "LC_ALL": "C"], printsExitSuccess: false)
    #expect(result.replay.stderr == result.record.stderr, "\(result.replay.summary)")
    let elf = try #require(FileManager.default.contents(atPath: object), "gcc wrote no \(object)")
    #expect(elf.prefix(4) == Data([0x7f, 0x45, 0x4c, 0x46]), "tiny.o is not an ELF file")

    let processes = try Harness.ps(result.traceDir)
    #expect(processes.allSatisfy { $0.exitCode == 0 }, "\(processes)")
    let cc1 = processes.first { $0.command.first?.hasSuffix("/cc1") == true }
    #expect(cc1 != nil, "no cc1 in \(processes)")
    #expect(processes.contains { $0.command.first.map { $0 == "as" || $0.hasSuffix("/as") } == true },
      "no as in \(processes)")
    if let cc1 {
      try assertReplayProcess(result.traceDir, cc1.pid)
    }
  }

  /// Python reads the clock, seeds its random generator from the kernel and
  /// asks for its pid: all three replay as recorded.
  @Test(.enabled(if: ProcessTreeTests.python != nil, "needs python3: apt-get install python3"))
  func pythonTimeRandomPid() throws {
    let python = try #require(ProcessTreeTests.python)
    let script = "import time, random, os; print(time.time()); print(random.random()); print(os.getpid())"
    let result = try assertRecordReplayCommand(
      "python", [python, "-c", script], env: ["PYTHONDONTWRITEBYTECODE": "1"], printsExitSuccess: false)
    let lines = result.record.stdout.split(separator: "\n")
    #expect(lines.count == 3, "\(result.record.summary)")
    #expect(lines.count == 3 && Double(lines[0]) != nil && Double(lines[1]) != nil && Int32(lines[2]) != nil)
    let processes = try Harness.ps(result.traceDir)
    if let root = processes.first, lines.count == 3 {
      #expect("\(root.pid)" == lines[2], "ps shows the recorded pid")
    }
  }

  static let python: String? = {
    FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") ? "/usr/bin/python3" : Harness.which("python3")
  }()

  /// A MAP_SHARED anonymous page written by the parent, read and written back
  /// by the child, read again by the parent after waitpid.
  @Test func sharedAnonymousPage() throws {
    let result = try assertRecordReplay("shared_anon")
    #expect(result.record.stdout.contains("child read: written by the parent before fork\n"), "\(result.record.summary)")
    #expect(
      result.record.stdout.contains("parent read: Written by the parent before fork | written back by the child\n"))
    let processes = try Harness.ps(result.traceDir)
    try #require(processes.count == 2, "\(processes)")
    let alone = try assertReplayProcess(result.traceDir, processes[1].pid)
    #expect(alone.stdout == "child read: written by the parent before fork\n", "\(alone.summary)")
  }

  /// Two processes race on a shared counter: the values they print replay only because
  /// recording ran them one at a time and kept the order of their slices.
  @Test(arguments: 1...3) func sharedCounterRace(run: Int) throws {
    let result = try assertRecordReplay("shared_counter")
    #expect(result.record.stdout.contains("final 600\n"), "serialized increments are never lost: \(result.record.summary)")
  }

  /// A signal sent right after fork, while the child moves to its own tracer thread.
  @Test func signalToANewChild() throws {
    let result = try assertRecordReplay("signal_new_child")
    #expect(result.record.stdout.components(separatedBy: "H").count == 9, "every handler ran: \(result.record.summary)")
  }

  /// SIGKILLed children, blocked or spinning, replay their deaths.
  @Test func killedChildren() throws {
    let result = try assertRecordReplay("kill_child")
    #expect(result.record.stdout.contains("3: killed by 9\n"), "\(result.record.summary)")
  }

  /// A fork made while a posix_spawn'd program runs: the trace keeps fork before child.
  @Test func spawnThenFork() throws {
    let result = try assertRecordReplay("spawn_then_fork")
    #expect(result.record.stdout.contains("child exited 7\n"), "\(result.record.summary)")
  }

  /// A read into shared memory that blocked while the other process looked at that memory.
  @Test(arguments: 1...3) func blockingReadIntoSharedMemory(run: Int) throws {
    let result = try assertRecordReplay("shared_read_poll")
    #expect(result.record.stdout.contains("before the write: 0, after the child: 'x'\n"), "\(result.record.summary)")
  }

  /// System V shared memory: shmget/shmat before fork, shmdt in both, shmctl IPC_STAT.
  @Test func systemVSharedMemory() throws {
    let result = try assertRecordReplay("sysv_shm")
    #expect(result.record.stdout.contains("child read: written by the parent\n"), "\(result.record.summary)")
    #expect(result.record.stdout.contains("parent read: written back by the child\n"))
    #expect(result.record.stdout.contains("segment size 8192\n"))
    let processes = try Harness.ps(result.traceDir)
    try #require(processes.count == 2, "\(processes)")
    let alone = try assertReplayProcess(result.traceDir, processes[1].pid)
    #expect(alone.stdout == "child read: written by the parent\n", "\(alone.summary)")
  }

  /// The root exits at once; its child writes a file 300 ms later and exits 3.
  /// `rewind record` returns only after the daemon exited.
  @Test func daemonOutlivesItsParent() throws {
    let file = try Harness.makeWorkDir("daemon-files") + "/daemon.out"
    let result = try assertRecordReplay("daemon", args: [file]) { _, _ in
      // Right after record returned, before the replay.
      let written = (try? String(contentsOfFile: file, encoding: .utf8)) ?? "(no file)"
      #expect(written.hasPrefix("daemon ") && written.hasSuffix(" was here\n"),
        "record returned before the daemon wrote its line: \(written)")
      try FileManager.default.removeItem(atPath: file)
    }
    #expect(!FileManager.default.fileExists(atPath: file), "replay must not write the file again")

    let processes = try Harness.ps(result.traceDir)
    try #require(processes.count == 2, "\(processes)")
    #expect(processes[0].exitCode == 0 && processes[0].ppid == nil, "\(processes[0])")
    let daemon = processes[1]
    #expect(daemon.exitCode == 3 && daemon.signal == nil && daemon.ppid == processes[0].pid, "\(daemon)")
    #expect(result.record.stdout.contains("started daemon \(daemon.pid),"))
    let alone = try assertReplayProcess(result.traceDir, daemon.pid)
    #expect(alone.stdout == "", "\(alone.summary)")
  }

  /// A child dies of SIGSEGV; the parent reaps it and exits 0.
  @Test func crashingChild() throws {
    let result = try assertRecordReplay("crash_child")
    #expect(result.record.stdout.contains("child killed by signal 11\n"), "\(result.record.summary)")
    let processes = try Harness.ps(result.traceDir)
    try #require(processes.count == 2, "\(processes)")
    let child = processes[1]
    let alone = try assertReplayProcess(result.traceDir, child.pid)
    #expect(alone.stdout == "child \(child.pid): about to write through a null pointer\n", "\(alone.summary)")
  }

  /// `rewind ps` of crash_child, --json and text: the child's EXIT is SIGSEGV.
  @Test func psOfCrashingChild() throws {
    let result = try assertRecordReplay("crash_child")
    let processes = try Harness.ps(result.traceDir)
    try #require(processes.count == 2, "\(processes)")
    let (root, child) = (processes[0], processes[1])
    #expect(root.ppid == nil && root.exitCode == 0 && root.signal == nil, "\(root)")
    #expect(child.ppid == root.pid && child.exitCode == nil && child.signal == "SIGSEGV", "\(child)")
    #expect(child.command == [result.executable])

    let ps = try psText(result.traceDir)
    #expect(ps.header == "PID\tPPID\tEXIT\tCMD")
    #expect(ps.rows == [
      ["\(root.pid)", "-", "0", Substring(result.executable)],
      ["\(child.pid)", "\(root.pid)", "SIGSEGV", Substring(result.executable)],
    ])
  }
}
