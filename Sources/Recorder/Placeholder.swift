enum RecorderModule {}
