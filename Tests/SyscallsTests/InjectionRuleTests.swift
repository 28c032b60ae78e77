import Testing

@testable import Syscalls

/// strace's `when=` semantics, counting each thread's calls from 1.
struct InjectionRuleTests {
  func occurrences(_ rule: String, upTo last: Int = 12) throws -> [Int] {
    let parsed = try InjectionRule(parsing: rule)
    return (1...last).filter { parsed.applies(toOccurrence: $0) }
  }

  @Test func whenExpressions() throws {
    #expect(try occurrences("write:error=EIO") == Array(1...12))
    #expect(try occurrences("write:error=EIO:when=3") == [3])
    #expect(try occurrences("write:error=EIO:when=3+") == Array(3...12))
    #expect(try occurrences("write:error=EIO:when=3+4") == [3, 7, 11])
    #expect(try occurrences("write:error=EIO:when=2..5") == [2, 3, 4, 5])
    #expect(try occurrences("write:error=EIO:when=2..9+3") == [2, 5, 8])
  }

  @Test func resultsAndSets() throws {
    let rule = try InjectionRule(parsing: "read,write,1:retval=7")
    #expect(rule.calls == [0, 1])
    #expect(rule.result == 7)
    #expect(try InjectionRule(parsing: "openat:error=ENOENT").result == -2)
    #expect(try InjectionRule(parsing: "openat:error=EWOULDBLOCK").result == -11)
    #expect(try InjectionRule(parsing: "openat:error=13").result == -13)
  }

  @Test func refusals() {
    for bad in ["", ":error=EIO", "write:error=EIO:when=5..2", "write:error=EIO:when=x", "write:error=EIO:retval=1", "rt_sigreturn:retval=0"] {
      #expect(throws: InjectionRuleError.self, "\(bad)") { try InjectionRule(parsing: bad) }
    }
  }
}
