package io.spillway.console;

import io.spillway.console.http.ConsoleConfig;
import io.spillway.metrics.ConfigMappingDoc;
import org.junit.jupiter.api.Test;

/** The "Console" table of docs/configuration.md lists exactly the keys {@link ConsoleConfig} declares, with their defaults. */
class ConsoleConfigDocTest {

  @Test
  void everyDeclaredKeyIsDocumentedWithItsDefaultAndNothingElseIs() throws Exception {
    ConfigMappingDoc.assertDocuments(ConsoleConfig.class, "Console");
  }
}
