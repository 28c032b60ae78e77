import Testing

@Test func placeholderSyscallsTests() { #expect(1 + 1 == 2) }
