#include "safeio/spool.h"

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "base/strings.h"

namespace chasquid::safeio {
namespace {

std::string TempDir() {
  char tmpl[] = "/tmp/spooltestXXXXXX";
  return mkdtemp(tmpl);
}

std::string ReadFd(int fd) {
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) out.append(buf, n);
  return out;
}

TEST(SpoolTest, AppendReadAndUnlinkOnDestruction) {
  std::string dir = TempDir();
  std::string path;
  {
    auto s = Spool::Create(dir, ".m:spool-");
    ASSERT_TRUE(s.ok()) << s.status().message();
    path = (*s)->path();
    EXPECT_EQ(path.rfind(dir + "/.m:spool-", 0), 0u);
    ASSERT_TRUE((*s)->Append("Subject: x\n").ok());
    ASSERT_TRUE((*s)->Append("\nbody\n").ok());
    EXPECT_EQ((*s)->size(), 17u);
    EXPECT_EQ(*(*s)->ReadAll(), "Subject: x\n\nbody\n");
    EXPECT_EQ(*(*s)->HeaderBlock(1 << 20), "Subject: x\n\n");
    EXPECT_EQ(*(*s)->HeaderBlock(4), "Subj");
    EXPECT_TRUE(std::filesystem::exists(path));
  }
  EXPECT_FALSE(std::filesystem::exists(path));
  std::filesystem::remove_all(dir);
}

TEST(SpoolTest, ChunksAndHeaderBlockAcrossChunkBoundaries) {
  std::string dir = TempDir();
  auto s = Spool::Create(dir, ".x");
  ASSERT_TRUE(s.ok());
  // The empty line straddles the 16 KiB reads of HeaderBlock.
  std::string head(16 * 1024 - 1, 'h');
  head[0] = 'A';
  head += "\n\nrest";
  ASSERT_TRUE((*s)->Append(head).ok());
  EXPECT_EQ(*(*s)->HeaderBlock(1 << 20), head.substr(0, head.size() - 4));
  std::string joined;
  size_t calls = 0;
  ASSERT_TRUE((*s)->ForEachChunk(
                      [&](std::string_view c) {
                        calls++;
                        joined.append(c);
                        return Status::Ok();
                      },
                      1000)
                  .ok());
  EXPECT_EQ(joined, head);
  EXPECT_EQ(calls, (head.size() + 999) / 1000);
  std::filesystem::remove_all(dir);
}

TEST(SpoolTest, MaterializeConvertsLineEndingsLikeToCRLF) {
  std::string dir = TempDir();
  auto s = Spool::Create(dir, ".x");
  ASSERT_TRUE(s.ok());
  // A CR at the end of one chunk and its LF at the start of the next, and
  // the same between the head and the file.
  std::string body("\n");
  body.append(64 * 1024 - 2, 'b');
  body += "\r\nx\ny\r\n\n";
  ASSERT_TRUE((*s)->Append(body).ok());
  std::string head = "H: 1\nH: 2\r";
  auto fd = (*s)->Materialize(head, /*crlf=*/true);
  ASSERT_TRUE(fd.ok()) << fd.status().message();
  EXPECT_EQ(ReadFd(*fd), ToCRLF(head + body));
  close(*fd);
  fd = (*s)->Materialize(head, /*crlf=*/false);
  ASSERT_TRUE(fd.ok());
  EXPECT_EQ(ReadFd(*fd), head + body);
  close(*fd);
  std::filesystem::remove_all(dir);
}

TEST(SpoolTest, SmallContentsStayInMemoryUntilTheLimit) {
  std::string dir = TempDir();
  auto s = Spool::Create(dir, ".m:spool-", 10);
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE((*s)->Append("0123456789").ok());
  EXPECT_TRUE((*s)->in_memory());
  EXPECT_EQ((*s)->memory(), "0123456789");
  EXPECT_TRUE(std::filesystem::is_empty(dir));
  auto fd = (*s)->Materialize("h\n", /*crlf=*/true);
  ASSERT_TRUE(fd.ok());
  EXPECT_EQ(ReadFd(*fd), "h\r\n0123456789");
  close(*fd);
  ASSERT_TRUE((*s)->Append("x").ok());
  EXPECT_FALSE((*s)->in_memory());
  EXPECT_TRUE(std::filesystem::exists((*s)->path()));
  EXPECT_EQ(*(*s)->ReadAll(), "0123456789x");
  s->reset();
  EXPECT_TRUE(std::filesystem::is_empty(dir));
  std::filesystem::remove_all(dir);
}

TEST(SpoolTest, FailingToMakeTheFileLaterIsAppendsError) {
  auto s = Spool::Create("/nonexistent/dir", ".x", 4);
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE((*s)->Append("abcd").ok());
  EXPECT_FALSE((*s)->Append("e").ok());
  EXPECT_FALSE((*s)->error().ok());
  EXPECT_FALSE((*s)->Append("f").ok());
}

TEST(SpoolTest, CreateInAMissingDirectoryFails) {
  auto s = Spool::Create("/nonexistent/dir", ".x");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("open /nonexistent/dir/.x"),
            std::string::npos);
}

}  // namespace
}  // namespace chasquid::safeio
