enum SyscallsModule {}
