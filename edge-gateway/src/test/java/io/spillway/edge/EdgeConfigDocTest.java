package io.spillway.edge;

import io.spillway.metrics.ConfigMappingDoc;
import org.junit.jupiter.api.Test;

/** The "Edge gateway" table of docs/configuration.md lists exactly the keys {@link EdgeConfig} declares, with their defaults. */
class EdgeConfigDocTest {

  @Test
  void everyDeclaredKeyIsDocumentedWithItsDefaultAndNothingElseIs() throws Exception {
    ConfigMappingDoc.assertDocuments(EdgeConfig.class, "Edge gateway");
  }
}
