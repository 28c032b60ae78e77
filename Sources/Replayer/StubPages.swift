import CodePatch
import Glibc
import LinuxTrace
import Syscalls
import TraceFormat

/// A mapping of `stubMappingSize` bytes made in a tracee for compare stubs.
struct StubPage {
  let address: UInt64
  /// The `syscall` instruction the injected calls use.
  let syscallInstruction: UInt64

  /// Whether a stub here reaches each of `addresses` with a rel32.
  func reaches(_ addresses: [UInt64]) -> Bool {
    let reach: UInt64 = (1 << 31) - 2 * stubMappingSize
    return addresses.allSatisfy { $0 > address ? $0 - address < reach : address - $0 < reach }
  }
}

/// Processes (by real pid) that share one address space: a vfork child and its parent
/// until the child execs or exits; clone(CLONE_VM) without CLONE_THREAD likewise, and
/// transitively (a child of such a child shares it too).
struct SharedAddressSpaces {
  private var groupOf: [Int32: Int] = [:]
  private var members: [Int: Set<Int32>] = [:]
  private var nextGroup = 0

  func isShared(_ pid: Int32) -> Bool { groupOf[pid] != nil }

  /// The processes that share `pid`'s memory, `pid` included.
  func sharers(of pid: Int32) -> Set<Int32> { groupOf[pid].flatMap { members[$0] } ?? [pid] }

  mutating func share(_ a: Int32, _ b: Int32) {
    switch (groupOf[a], groupOf[b]) {
    case (let g?, nil): add(b, to: g)
    case (nil, let g?): add(a, to: g)
    case (let g?, let h?) where g != h:
      for pid in members.removeValue(forKey: h) ?? [] { add(pid, to: g) }
    case (nil, nil):
      nextGroup += 1
      add(a, to: nextGroup)
      add(b, to: nextGroup)
    default: break
    }
  }

  private mutating func add(_ pid: Int32, to group: Int) {
    groupOf[pid] = group
    members[group, default: []].insert(pid)
  }

  /// `pid` has memory of its own again (an exec), or is gone.
  mutating func leave(_ pid: Int32) {
    guard let group = groupOf.removeValue(forKey: pid) else { return }
    members[group]?.remove(pid)
    if let left = members[group], left.count < 2 {
      for other in left { groupOf[other] = nil }
      members[group] = nil
    }
  }
}

/// Calls after which a kept stub page could be in the program's way: they change the
/// address space (the page could be replaced, or stand where the recording mapped something;
/// replay maps at recorded addresses), or hand it to another process. They also make the
/// remembered code mappings (`codeMapping`) stale.
/// (mseal and map_shadow_stack belong here once the table has them: the recorder refuses
/// calls the table does not know, so no trace holds them today.)
let callsThatMeetStubPages: Set<String> = [
  "mmap", "munmap", "mremap", "mprotect", "pkey_mprotect", "madvise", "process_madvise", "brk", "shmat", "shmdt",
  "remap_file_pages", "io_setup", "arch_prctl", "prctl", "execve", "execveat", "clone", "clone3", "fork", "vfork",
]

extension ReplaySession {
  /// The private, readable, executable mapping that holds `address` in `task`'s process,
  /// from /proc/PID/maps read once per process until a call changes its mappings
  /// (`releaseStubPage` forgets it then).
  func codeMapping(containing address: UInt64, _ task: ReplayTask) -> MapsEntry? {
    func find(_ mappings: [MapsEntry]) -> MapsEntry? { mappings.first { $0.start <= address && address < $0.end } }
    if let known = codeMappings[task.realTgid], let mapping = find(known) { return mapping }
    guard let maps = try? readMaps(of: task.realTid) else { return nil }
    let code = maps.filter { $0.isReadable && $0.isExecutable && $0.isPrivate }
    codeMappings[task.realTgid] = code
    return find(code)
  }

  /// Unmaps `page` from `task`, stopped at `stop`.
  func unmap(_ page: StubPage, _ task: ReplayTask, from stop: InjectionStop) throws {
    // The `syscall` found when the page was mapped, if it is still one (code can change).
    var instruction = page.syscallInstruction
    if (try? task.tracee.readMemory(at: instruction, count: 2)) != [0x0f, 0x05] {
      let rip = try currentRegisters(task).rip
      guard let found = syscallInstruction(for: task, rip: rip) else {
        throw Divergence(
          eventIndex: cursor.consumed, tid: task.recordedTid, activity: "unmapping the compare stub",
          differences: ["replay found no syscall instruction to unmap its compare stub at \(hex(page.address)) with"])
      }
      instruction = found
    }
    let result = try injectSyscall(munmapNumber, [page.address, stubMappingSize], in: task, from: stop, using: instruction)
    guard result == 0 else {
      throw Divergence(
        eventIndex: cursor.consumed, tid: task.recordedTid, activity: "unmapping the compare stub",
        differences: ["replay could not unmap its compare stub at \(hex(page.address)): munmap returned \(describeResult(result))"])
    }
  }

  /// Unmaps the stub page kept in `task`'s process, if any, before `event` if that call
  /// could meet it (`callsThatMeetStubPages`). From where the task stopped when a call can
  /// be injected there; else (a signal about to be delivered, say) the task first runs to
  /// the call's entry without performing it, and after the unmap goes back to its
  /// `syscall` instruction, to enter the call again as if for the first time.
  func releaseStubPage(_ task: ReplayTask, before event: SyscallEvent, _ call: Syscall) throws {
    guard callsThatMeetStubPages.contains(call.name) else { return }
    for pid in addressSpaces.sharers(of: task.realTgid) { codeMappings[pid] = nil }
    guard let page = stubPages.removeValue(forKey: task.realTgid) else { return }
    if case .success(let stop) = injectionStop(task) {
      try unmap(page, task, from: stop)
      return
    }
    let status = try resumeAndWait(task, .syscallEmulation)
    var registers = try currentRegisters(task)
    guard status == .syscallStop, registers.origRax == UInt64(event.number) else {
      throw unexpected(status, task, index: event.index, activity: "syscall \(call.name)", expected: "a call to \(call.name)")
    }
    try unmap(page, task, from: .emulatedEntry)
    registers.rip -= 2
    registers.rax = registers.origRax
    try setRegisters(registers, task)
  }

}
