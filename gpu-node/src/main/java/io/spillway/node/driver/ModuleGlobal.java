package io.spillway.node.driver;

/**
 * A module-scope {@code .global} or {@code .const} variable of a loaded module: its device address in
 * the context that loaded the module, and its size in bytes. The range {@code [address, address + size)}
 * can be read, written, copied and filled like an allocation of that context.
 */
public record ModuleGlobal(String name, long address, long size) {}
