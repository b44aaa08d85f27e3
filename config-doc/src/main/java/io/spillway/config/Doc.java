package io.spillway.config;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * The documentation of one configuration key of a {@code @ConfigMapping} interface, read at run time by
 * the generator of docs/configuration.md ({@code io.spillway.config.reference.ConfigurationPage}). Put it
 * on every leaf method (a key); on a method returning a {@code Map} of groups it only names the map's key
 * placeholder ({@link #mapKey}). The key itself, and the default, come from the mapping as SmallRye Config
 * reads it ({@code @WithDefault}), so they are never written twice.
 */
@Documented
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.METHOD)
public @interface Doc {

  /** What the key does, in Markdown, one or a few sentences; rules it must follow go here too. */
  String value() default "";

  /**
   * The type as the page shows it, e.g. {@code port}, {@code host:port,...}, {@code percent}; empty: derived
   * from the Java type (duration, size, count, boolean, the constants of an enum).
   */
  String type() default "";

  /**
   * The default in words (Markdown) for a key without {@code @WithDefault} whose absence means something,
   * e.g. {@code `edge/<name>`}; empty: the {@code @WithDefault} value, else "none".
   */
  String defaultText() default "";

  /** On a {@code Map} of groups: the placeholder of the map's key, shown as {@code "<tenant>"}. */
  String mapKey() default "name";
}
