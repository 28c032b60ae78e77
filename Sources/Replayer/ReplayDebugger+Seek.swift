import CCapstone
import Glibc
import TraceFormat

/// A debugged replay's silent run to a place that an earlier replay of the same trace
/// reached: how reverse execution goes back, by running forward again from the start.
final class Seek {
  enum Purpose: Equatable {
    /// Park at the target.
    case reach
    /// With gdb's breakpoints, watchpoints and catchpoints in force from the start, note
    /// every stop they make; park at the target.
    case note
    /// Single-step thread `tid` through the user code it runs before event `event`, noting
    /// every place; park at the target or where that code ends, whichever comes first.
    case ladder(event: UInt64, tid: Int32)
    /// Single-step every thread of the debugged process through the events numbered
    /// `from` up to `to` (excluded), writing each instruction to `log`; park before `to`.
    case log(from: UInt64, to: UInt64)
  }

  let purpose: Purpose
  let target: ReplayPlace?
  /// What the seek noted, in the order the replay met it.
  var noted: [(place: ReplayPlace, kind: DebugStop.Kind)] = []
  /// Arrivals at each address since the thread running for the current event began running
  /// for it: counted by our breakpoints' traps, or by steps when the seek steps.
  var arrivals: [UInt64: Int] = [:]
  /// gdb's ^C parked the replay before the seek was done.
  var interrupted = false
  /// The place it parks at must have its arrival counted (a breakpoint at its address from
  /// the start of its event), not be found by its registers.
  var countsArrival = false
  /// Counting so, with a hardware breakpoint only: the target's address may not begin an
  /// instruction, and a patch there could change the code that runs.
  var countsByHardwareOnly = false
  /// Where a `.log` seek writes, and how many instructions it wrote.
  var log: UnsafeMutablePointer<FILE>?
  var instructionsLogged = 0
  /// The last place logged of each thread: a span that ends at a code point leaves the
  /// thread where the next one starts.
  var lastLogged: [Int32: ReplayPlace] = [:]

  init(_ purpose: Purpose, target: ReplayPlace?) {
    self.purpose = purpose
    self.target = target
  }

  /// The earliest event the seek must see from its start: a run for it may begin at a
  /// checkpoint no later than that.
  var firstEventNeeded: UInt64? {
    switch purpose {
    case .reach, .note: return target?.eventIndex
    case .ladder(let event, _): return event
    case .log(let from, _): return from
    }
  }

  /// A ladder that starts stepping at this arrival at this address, not where its thread
  /// began running for the event: a long loop is not stepped through from its start. Its
  /// places then have no arrival counts.
  var ladderStart: LadderStart?
  private(set) var ladderStarted = false

  var countsSteps: Bool {
    if case .ladder = purpose { return ladderStart == nil }
    return false
  }

  /// Whether `place` is where the ladder begins to step (once).
  func beginsLadder(at place: ReplayPlace) -> Bool {
    guard let start = ladderStart, !ladderStarted, place.stage == .code(rip: start.rip, arrival: start.arrival) else { return false }
    ladderStarted = true
    return true
  }

  /// Whether a stop at `stage` of thread `tid` before event `eventIndex` can be the target
  /// or something to note (else its place is not worth reading).
  func mayCare(eventIndex: UInt64, tid: Int32, stage: ReplayPlace.Stage, reportable: Bool) -> Bool {
    let isCode: Bool
    if case .code = stage { isCode = true } else { isCode = false }
    if let target, target.eventIndex == eventIndex, target.tid == tid {
      if case .code = target.stage { if isCode { return true } } else if target.stage == stage { return true }
    }
    switch purpose {
    case .reach: return false
    case .note: return reportable
    case .ladder(let event, let ladderTid): return eventIndex > event || (eventIndex == event && tid == ladderTid)
    case .log: return isCode || stage == .processExit || stage == .recordingEnd
    }
  }

  /// A stop of the event whose code the target is in: the code is over, and the target was
  /// not found in it.
  func hasPassedItsTarget(eventIndex: UInt64, tid: Int32, stage: ReplayPlace.Stage) -> Bool {
    guard let target, case .code = target.stage, eventIndex == target.eventIndex, tid == target.tid else { return false }
    if case .code = stage { return false }
    return true
  }

  func missed(at place: ReplayPlace) -> PlaceNotFound {
    PlaceNotFound(target: target, reached: place)
  }
}

/// A seek passed the place it was looking for without finding it: this replay went another
/// way than the one that reached the place (rewind's fault, never the program's).
public struct PlaceNotFound: Error, CustomStringConvertible {
  public var target: ReplayPlace?
  public var reached: ReplayPlace

  public var description: String {
    "replaying the recording again did not come back to \(target.map { "\($0)" } ?? "the place sought") (it reached \(reached) first)"
  }
}

extension ReplayDebugger {
  /// Counts an arrival at `address` for a seek.
  func arrive(at address: UInt64) -> Int? {
    guard let seek else { return nil }
    seek.arrivals[address, default: 0] += 1
    return seek.arrivals[address]
  }

  /// Whether a seek parks at `place`; else it notes what it was asked to.
  func seekDecides(_ place: ReplayPlace, _ kind: DebugStop.Kind, reportable: Bool) throws -> Bool {
    guard let seek else { return true }
    if let target = seek.target, target.isSame(as: place) {
      guard target.hasSameState(as: place) else { throw seek.missed(at: place) }
      // A watchpoint's trap at the place itself was made by the instruction before it:
      // going backwards from there, that access comes first.
      if seek.purpose == .note, case .signal(_, .watchpoint?) = kind { seek.noted.append((place, kind)) }
      return true
    }
    switch seek.purpose {
    case .log:
      guard case .code = place.stage else { return place.stage == .processExit || place.stage == .recordingEnd }
      logInstruction(at: place, seek)
      return false
    case .reach: break
    case .note: if reportable { seek.noted.append((place, kind)) }
    case .ladder(let event, let tid):
      if place.eventIndex == event && place.tid == tid {
        guard case .code = place.stage else { return true }  // the code before the event has run
        if seek.ladderStart != nil && stepTid != tid {
          guard seek.beginsLadder(at: place), let start = seek.ladderStart else { return false }
          // From here on, every instruction: the breakpoint that found the start goes.
          internalBreakpoints.remove(start.rip)
          try placeBreakpoints()
          stepTid = tid
        }
        seek.noted.append((place, kind))
        return false
      }
      if place.eventIndex > event { return true }
    }
    if seek.hasPassedItsTarget(eventIndex: place.eventIndex, tid: place.tid, stage: place.stage) { throw seek.missed(at: place) }
    return false
  }

  /// A seek's work before each event: the ladder's first step, the breakpoint counting
  /// arrivals at the target's address, and the end of a search that went past its place.
  func seekBeforeEvent(_ event: TraceEvent) throws {
    guard let seek else { return }
    seek.arrivals = [:]
    // gdb's breakpoints in code not mapped yet when the seek armed them (a library's) go
    // in once it is.
    if armed && mappingsMayHaveChanged {
      try reinsertReplacedBreakpoints()
      if !requests.softwareBreakpoints.isSubset(of: inserted.keys) { try placeBreakpoints() }
    }
    if case .log(let from, let to) = seek.purpose {
      stepTid = nil
      stepEndsAfterEvent = nil
      guard let task = session.tasks[event.tid], isDebugged(task) else {
        if event.index >= to, let task = stoppableTask { try report(.signal(SIGTRAP, cause: nil), task, at: .beforeEvent, forced: true) }
        return
      }
      if event.index >= to {
        try report(.signal(SIGTRAP, cause: nil), task, at: .beforeEvent, forced: true)
      } else if event.index >= from {
        logInstruction(at: place(of: task, at: .beforeEvent), seek)
        stepTid = task.recordedTid
      }
      return
    }
    if case .ladder(let ladderEvent, let tid) = seek.purpose {
      if event.index > ladderEvent, let task = session.tasks[tid] ?? stoppableTask {
        try report(.signal(SIGTRAP, cause: nil), task, at: .beforeEvent, forced: true)
        return
      }
      if event.index == ladderEvent, let start = seek.ladderStart {
        guard start.arrival > passesWorthAStub || start.guessed, let task = session.tasks[tid] else {
          internalBreakpoints.insert(start.rip)
          try placeBreakpoints()
          return
        }
        // Deep in a loop: a counting stub runs the thread to that pass without a trap at
        // each, and the ladder steps from there. A guessed start may not begin an
        // instruction: no patch there, a hardware breakpoint.
        try session.runToPass(
          start.arrival, of: start.rip, task, index: event.index, activity: "the place gdb steps back from", byHardwareOnly: start.guessed)
        seek.arrivals[start.rip] = start.arrival
        try report(.signal(SIGTRAP, cause: nil), task, at: .code(rip: start.rip, arrival: start.arrival))
        return
      }
      if event.index == ladderEvent, let task = session.tasks[tid] {
        let start = place(of: task, at: .beforeEvent)
        if seek.target?.isSame(as: start) == true {
          try report(.signal(SIGTRAP, cause: nil), task, at: .beforeEvent, forced: true)
          return
        }
        seek.noted.append((start, .signal(SIGTRAP, cause: nil)))
        seek.arrivals[start.rip] = 1
        stepTid = tid
        return
      }
    }
    guard let target = seek.target else { return }
    if event.index > target.eventIndex, let task = session.tasks[target.tid] ?? stoppableTask {
      throw seek.missed(at: place(of: task, at: .beforeEvent))
    }
    guard event.index == target.eventIndex else { return }
    switch target.stage {
    case .beforeEvent:
      if let task = session.tasks[target.tid] {
        let here = place(of: task, at: .beforeEvent)
        guard target.hasSameState(as: here) else { throw seek.missed(at: here) }
        try report(.signal(SIGTRAP, cause: nil), task, at: .beforeEvent, forced: true)
      }
    case .code(let rip, let arrival):
      // A place whose arrival is wanted: a compare stub that counts every pass finds it by
      // its registers, without a trap a pass.
      if seek.purpose == .reach, seek.countsArrival, let point = target.codePoint, let task = session.tasks[target.tid] {
        let counted = try session.runToCodePointCountingArrivals(
          point.registers, memory: point.memory, task, index: event.index, activity: "the place gdb steps back from",
          byHardwareOnly: seek.countsByHardwareOnly)
        seek.arrivals[rip] = counted
        let here = place(of: task, at: .code(rip: rip, arrival: counted))
        guard target.hasSameState(as: here) else { throw seek.missed(at: here) }
        try report(.signal(SIGTRAP, cause: nil), task, at: here.stage, forced: true)
        return
      }
      // Far into a loop, a breakpoint would trap at every pass before the right one: the
      // replay's compare stub finds the place by its registers and stack in the tracee.
      if seek.purpose == .reach, !seek.countsArrival, arrival.map({ $0 > passesWorthAStub }) ?? true, let point = target.codePoint,
        let task = session.tasks[target.tid]
      {
        try session.runToCodePoint(point.registers, memory: point.memory, task, index: event.index, activity: "the place gdb goes back to")
        let here = place(of: task, at: .code(rip: rip, arrival: arrival))
        guard target.hasSameState(as: here) else { throw seek.missed(at: here) }
        try report(.signal(SIGTRAP, cause: nil), task, at: here.stage, forced: true)
        return
      }
      internalBreakpoints.insert(rip)
      try placeBreakpoints()
    default: break
    }
  }

  /// One line of an instruction log: the event, the thread, the instruction (Capstone's
  /// text) and the registers before it.
  private func logInstruction(at place: ReplayPlace, _ seek: Seek) {
    guard let log = seek.log, place.registers.count == Registers.count else { return }
    if let last = seek.lastLogged[place.tid], last.rip == place.rip, last.hasSameState(as: place) { return }
    seek.lastLogged[place.tid] = place
    let registers = Registers(words: place.registers)
    let code = (try? session.tasks[place.tid]?.tracee.readMemory(at: registers.rip, count: 16)) ?? []
    var text = [CChar](repeating: 0, count: 160)
    let length = code.withUnsafeBufferPointer { rewind_instruction_text($0.baseAddress, $0.count, registers.rip, &text, text.count) }
    let instruction = length == 0 ? "(bytes Capstone cannot decode)" : String(cString: text)
    let shown = ["rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "eflags"]
    let values = shown.map { name in "\(name)=0x\(String(registers.words[Registers.names.firstIndex(of: name)!], radix: 16))" }
    let line = "\(place.eventIndex) \(place.tid) 0x\(String(registers.rip, radix: 16)): \(instruction)\t\(values.joined(separator: " "))\n"
    fputs(line, log)
    seek.instructionsLogged += 1
  }

  /// The seek has found its place: gdb's requests go back in force, the seek's own
  /// breakpoints out.
  func endSeek() throws {
    guard let seek else { return }
    finishedSeek = seek
    self.seek = nil
    session.echoSilenced = false
    internalBreakpoints = []
    try arm(true)
  }
}

/// Up to this many passes, a seek counts them with a breakpoint (two stops a pass); beyond,
/// or where the count is unknown, it reaches its place with a compare stub.
private let passesWorthAStub = 4
