import CCapstone
import CodePatch
import Glibc
import Synchronization
import LinuxTrace
import TraceFormat

/// The reverse commands: each replays the recording again, from a checkpoint, to the place
/// it finds (`ReplayDebugger+Seek.swift`).
extension DebugReplay {
  /// Runs backwards: to the last stop a forward run from the start would have made before
  /// this place (`.continue`), or to the instruction before it (`.step`).
  public func reverse(_ how: DebugResume) -> Result<DebugStop, Error> {
    reverseInterrupted.store(false, ordering: .relaxed)
    guard let here = place() else { return .failure(ReplayError.setup("the replay has ended")) }
    do {
      switch how {
      case .continue: return .success(try reverseContinue(from: here))
      case .step(let tid): return .success(try reverseStep(from: here, thread: tid))
      }
    } catch let interrupted as ReverseInterrupted {
      return .success(interrupted.stop)
    } catch {
      // Back to where gdb was, so that the session can go on.
      _ = try? replayAgain(Seek(.reach, target: here))
      return .failure(error)
    }
  }

  /// Goes to `place`, which an earlier stop of this session reported (`monitor restart`).
  public func go(to place: ReplayPlace) -> Result<DebugStop, Error> {
    reverseInterrupted.store(false, ordering: .relaxed)
    let here = self.place()
    do { return .success(try reach(place, as: .signal(SIGTRAP, cause: nil))) } catch let interrupted as ReverseInterrupted {
      return .success(interrupted.stop)
    } catch {
      if let here { _ = try? replayAgain(Seek(.reach, target: here)) }
      return .failure(error)
    }
  }

  /// Writes every instruction the debugged process runs in events `from` up to `to` to
  /// `path`, one a line with its registers, then comes back here. Returns how many.
  public func logInstructions(from: UInt64, to: UInt64, path: String) -> Result<Int, Error> {
    reverseInterrupted.store(false, ordering: .relaxed)
    guard let here = place() else { return .failure(ReplayError.setup("the replay has ended")) }
    guard from < to else { return .failure(ReplayError.setup("the range \(from)-\(to) holds no event: FROM must be below TO")) }
    guard let file = fopen(path, "w") else {
      return .failure(ReplayError.setup("cannot write \(path): \(String(cString: strerror(errno)))"))
    }
    defer { fclose(file) }
    let seek = Seek(.log(from: from, to: to), target: nil)
    seek.log = file
    do {
      _ = try replayAgain(seek)
      _ = try replayAgain(Seek(.reach, target: here))
      return .success(seek.instructionsLogged)
    } catch let interrupted as ReverseInterrupted {
      _ = interrupted
      _ = try? replayAgain(Seek(.reach, target: here))
      return .failure(ReplayError.setup("interrupted after \(seek.instructionsLogged) instructions"))
    } catch {
      _ = try? replayAgain(Seek(.reach, target: here))
      return .failure(error)
    }
  }

  private func reverseContinue(from here: ReplayPlace) throws -> DebugStop {
    // From the latest checkpoint before here; when nothing stops there, from an earlier one
    // up to where that run began, going back twice as many checkpoints each time: the work
    // stays within about twice the distance to the stop found.
    var target = here
    var last: (place: ReplayPlace, kind: DebugStop.Kind)?
    var stride = 1
    while last == nil {
      let from = checkpoints.latest(before: target, skipping: stride - 1)
      let (_, seek) = try replayAgain(Seek(.note, target: target), from: .some(from))
      last = seek.noted.last
      guard let from, last == nil else { break }
      target = from.place
      stride *= 2
    }
    guard let last else { return try historyBegin() }
    if case .signal(_, .watchpoint?) = last.kind {
      // The trap came after the access; going backwards, gdb stops before it.
      guard let before = try previousInstruction(last.place) else { return try historyBegin() }
      return try reach(before, as: last.kind)
    }
    return try reach(last.place, as: last.kind)
  }

  private func reverseStep(from here: ReplayPlace, thread: Int32) throws -> DebugStop {
    guard let before = try previousInstruction(here) else { return try historyBegin() }
    return try reach(before, as: .signal(SIGTRAP, cause: nil))
  }

  /// The place of `place`'s thread one instruction earlier, found by single-stepping the
  /// thread from the nearest place before it that can be reached without stepping (or, at
  /// the first instruction it ran for its event, through the code before its previous
  /// event); nil at the start of history.
  private func previousInstruction(_ place: ReplayPlace) throws -> ReplayPlace? {
    switch place.stage {
    case .beforeEvent, .exec, .processExit, .recordingEnd: break
    case .code, .signal:
      // A signal stops the thread before the instruction at its rip runs: the instruction
      // before is the one before that place in code.
      var inCode = place
      if case .signal = place.stage { inCode.stage = .code(rip: place.rip, arrival: nil) }
      if let before = try previousPlace(inCode: inCode, reported: place) { return before }
    case .syscallEntry, .syscallReturn, .threadExit:
      let places = try ladder(event: place.eventIndex, tid: place.tid, to: place)
      let end = places.firstIndex { $0.isSame(as: place) } ?? places.endIndex
      let earlier = places[..<end].filter { !($0.rip == place.rip && $0.hasSameState(as: place)) }
      if let last = earlier.last { return last }
    }
    guard let previousEvent = place.threadsLastEvent else { return nil }
    return try ladder(event: previousEvent, tid: place.tid, to: nil).last
  }

  /// The place before `place` (in the code its thread runs before the event) in the last
  /// ladder, or in a new one stepped from the nearest start known (`ladderStarts`); nil when
  /// the thread ran nothing before it for the event. `reported`: the stop gdb sees there
  /// (a signal's, whose ladder ends at the signal).
  private func previousPlace(inCode place: ReplayPlace, reported: ReplayPlace) throws -> ReplayPlace? {
    guard case .code(let rip, let counted) = place.stage else { return nil }
    /// The place before `place` in `places`, skipping passes identical to it.
    func before(in places: [ReplayPlace]) -> ReplayPlace?? {
      guard let end = places.firstIndex(where: { $0.isSame(as: place) }) else { return nil }
      return .some(places[..<end].last { !($0.rip == rip && $0.hasSameState(as: place)) })
    }
    var arrival = counted
    if let last = lastLadder, last.event == place.eventIndex, last.tid == place.tid, let found = before(in: last.places) {
      if let found { return found }
      // The ladder's first place: nothing before it unless the ladder began at a start,
      // whose arrival is known.
      guard let start = last.start, start.rip == rip else { return nil }
      arrival = start.arrival
    } else if arrival == nil {
      // A place gdb reached forwards has no count yet: a run to it counts, in the tracee.
      let counting = Seek(.reach, target: place)
      counting.countsArrival = true
      _ = try replayAgain(counting)
      if case .code(_, let found)? = self.place()?.stage { arrival = found }
    }
    let fallThrough = arrival == 1 ? fallThroughPredecessor(of: rip) : nil
    if arrival == 1 {
      // A branch taken to `rip`, or one not taken before it, changed nothing but rip: the
      // place before may be this one at the branch (the last pass through a loop's closing
      // branch, say), found by a compare that counts its passes. A branch decoded from code
      // whose instruction starts are not certain is watched with a hardware breakpoint, never
      // patched.
      var branches: [(address: UInt64, certain: Bool)] = []
      if let fallThrough, fallThrough.isConditionalJump { branches.append((fallThrough.address, true)) }
      branches += branchesInto(rip).map { ($0, false) }
      for branch in branches {
        var atBranch = place
        var registers = Registers(words: place.registers)
        registers.rip = branch.address
        atBranch.registers = registers.words
        atBranch.stage = .code(rip: branch.address, arrival: nil)
        let counting = Seek(.reach, target: atBranch)
        counting.countsArrival = true
        counting.countsByHardwareOnly = !branch.certain
        do {
          _ = try replayAgain(counting)
          if let here = self.place(), case .code(branch.address, _?) = here.stage { return here }
        } catch let error where !(error is ReverseInterrupted) {
          // The thread did not come to `rip` from there.
        }
      }
    }
    let starts = try ladderStarts(fallThrough: fallThrough, at: rip, arrival: arrival)
    for (i, start) in starts.enumerated() {
      let places: [ReplayPlace]
      do {
        places = try ladder(event: place.eventIndex, tid: place.tid, to: reported, from: start)
      } catch let error where !(error is ReverseInterrupted) && i < starts.count - 1 {
        continue  // the thread never ran the guessed start before the place
      }
      let end = places.firstIndex { $0.isSame(as: place) } ?? places.endIndex
      let found = places[..<end].last { !($0.rip == rip && $0.hasSameState(as: place)) }
      if found != nil || start == nil { return found }
    }
    return nil
  }

  /// Where a ladder to the `arrival`th pass through `rip` can start, nearest first, ending
  /// with nil (where the thread began running for the event): the previous pass through
  /// `rip`; for a first pass, the instruction that falls through into `rip` (it ran just
  /// before, if it ran at all, since it always goes on to `rip`).
  private func ladderStarts(
    fallThrough: (address: UInt64, isConditionalJump: Bool)?, at rip: UInt64, arrival: Int?
  ) throws -> [LadderStart?] {
    guard let arrival else { return [nil] }
    if arrival > 1 { return [LadderStart(rip: rip, arrival: arrival - 1), nil] }
    guard let previous = fallThrough, !previous.isConditionalJump else { return [nil] }
    return [LadderStart(rip: previous.address, arrival: 1, guessed: true), nil]
  }

  /// The instruction before `rip` that goes on to `rip` when it does not branch: one that
  /// never branches (no call, return or system call either), or a conditional branch; when
  /// the code before `rip` decodes to one unambiguously: linear decodes from each of the 16
  /// bytes at 48-63 bytes before `rip` that land on `rip` must all agree on it, and at least
  /// half must land there.
  private func fallThroughPredecessor(of rip: UInt64) -> (address: UInt64, isConditionalJump: Bool)? {
    let span: UInt64 = 64
    guard rip > span, let bytes = try? readMemory(at: rip - span, count: Int(span)), bytes.count == Int(span) else { return nil }
    var found: [(address: UInt64, isConditionalJump: Bool)] = []
    var landed = 0
    for first in 0..<16 {
      var offset = first
      var previous: (address: UInt64, instruction: rewind_instruction)?
      while offset < bytes.count {
        var decoded = rewind_instruction()
        let address = rip - span + UInt64(offset)
        let ok = bytes[offset...].withUnsafeBufferPointer { rewind_decode_instruction($0.baseAddress, $0.count, address, &decoded) }
        guard ok != 0, decoded.size > 0, decoded.kind != Int32(REWIND_INSTRUCTION_INVALID).magnitude else { break }
        previous = (address, decoded)
        offset += Int(decoded.size)
      }
      guard offset == bytes.count, let previous else { continue }
      landed += 1
      let kind = Int32(previous.instruction.kind)
      let isConditionalJump = kind == Int32(REWIND_INSTRUCTION_CONDITIONAL_JUMP)
      guard kind == Int32(REWIND_INSTRUCTION_PLAIN) && previous.instruction.enters_kernel == 0 || isConditionalJump else { return nil }
      found.append((previous.address, isConditionalJump))
    }
    guard landed >= 8, let first = found.first, found.allSatisfy({ $0.address == first.address }) else { return nil }
    return first
  }

  /// The direct jumps and conditional branches to `rip` in the code within
  /// `PatchSiteChooser.branchScanReach` of it, or less where the mapping ends sooner (some
  /// may be decodes from inside other instructions).
  private func branchesInto(_ rip: UInt64) -> [UInt64] {
    for reach in [PatchSiteChooser.branchScanReach, 4096, 512] {
      let windowStart = rip > reach ? rip - reach : 0
      guard let window = try? readMemory(at: windowStart, count: Int(rip + reach - windowStart)), window.count == Int(rip + reach - windowStart)
      else { continue }
      var index = BranchIndex()
      return index.branches(into: rip..<(rip + 1), site: rip, window: window, windowStart: windowStart) ?? []
    }
    return []
  }

  /// The places of thread `tid`, one instruction apart, in the code it runs before event
  /// `event`, from `start` (nil: from where it began running for the event) up to `place`
  /// (nil: to the end of that code), or further. The last ladder is kept: stepping
  /// backwards again and again walks down the same one.
  private func ladder(event: UInt64, tid: Int32, to place: ReplayPlace?, from start: LadderStart? = nil) throws -> [ReplayPlace] {
    if let last = lastLadder, last.event == event, last.tid == tid, last.start == start,
      place == nil ? last.complete : last.places.contains(where: { $0.isSame(as: place!) })
    {
      return last.places
    }
    let ladder = Seek(.ladder(event: event, tid: tid), target: place)
    ladder.ladderStart = start
    let (_, seek) = try replayAgain(ladder)
    var places = seek.noted.map(\.place)
    if let place, case .code = place.stage, let parked = self.place() { places.append(parked) }
    lastLadder = LastLadder(event: event, tid: tid, start: start, places: places, complete: place == nil)
    return places
  }

  private func reach(_ place: ReplayPlace, as kind: DebugStop.Kind) throws -> DebugStop {
    let (stop, _) = try replayAgain(Seek(.reach, target: place))
    return DebugStop(kind: kind, pid: stop.pid, tid: stop.tid, eventIndex: stop.eventIndex)
  }

  /// Back at the first stop: gdb hears that there is no more history.
  private func historyBegin() throws -> DebugStop {
    let (stop, _) = try replayAgain(nil)
    return DebugStop(kind: .signal(SIGTRAP, cause: .historyBegin), pid: stop.pid, tid: stop.tid, eventIndex: stop.eventIndex)
  }
}

/// A ^C stopped a reverse command at this stop.
struct ReverseInterrupted: Error {
  let stop: DebugStop
}
