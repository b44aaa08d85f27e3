/** The picocli adapter: {@code spillway simulate}. */
package io.spillway.simulator.cli;
