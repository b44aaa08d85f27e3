package io.spillway.agent.kube;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spillway.agent.PeerPolicy;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import jdk.net.UnixDomainPrincipal;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ContainerProcessesTest {

  @Test
  void theInnermostPidIsTheContainersOwn() {
    assertEquals(7, ContainerProcesses.innermostPid("Name:\tpython\nPid:\t4242\nNSpid:\t4242\t7\n"));
    assertEquals(4242, ContainerProcesses.innermostPid("Name:\tpython\nPid:\t4242\nNSpid:\t4242\n"));
    assertEquals(4242, ContainerProcesses.innermostPid("Name:\told-kernel\nPid:\t4242\n"));
  }

  @Test
  void theSocketPathComesFromTheEnvironment() {
    byte[] env = "PATH=/bin\0SPILLWAY_AGENT_SOCKET=/run/spillway/agent.sock\0X=1\0".getBytes(StandardCharsets.UTF_8);
    assertEquals("/run/spillway/agent.sock", ContainerProcesses.socketFromEnviron(env));
    assertNull(ContainerProcesses.socketFromEnviron("PATH=/bin\0".getBytes(StandardCharsets.UTF_8)));
  }

  @Test
  void aProcessThatDoesNotSeeTheSocketIsRefused(@TempDir Path dir) throws Exception {
    Path socket = Files.createFile(dir.resolve("agent.sock"));
    UnixDomainPrincipal me = new UnixDomainPrincipal(
        dir.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName(System.getProperty("user.name")),
        dir.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByGroupName(
            Files.readAttributes(dir, java.nio.file.attribute.PosixFileAttributes.class).group().getName()));
    int self = (int) ProcessHandle.current().pid();
    PeerPolicy.Refused r = assertThrows(PeerPolicy.Refused.class,
        () -> new ContainerProcesses(socket, "/run/spillway/agent.sock").procPid(me, self, 0));
    assertTrue(r.getMessage().startsWith("no process with pid " + self), r.getMessage());
  }
}
