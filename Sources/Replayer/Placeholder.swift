enum ReplayerModule {}
