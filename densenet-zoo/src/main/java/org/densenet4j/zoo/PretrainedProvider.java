package org.densenet4j.zoo;

import java.io.IOException;
import java.nio.file.Path;
import org.densenet4j.zoo.io.Download;

import org.deeplearning4j.zoo.PretrainedType;

/**
 * Something that can put a preset's pretrained model into the zoo cache when it is not there, found
 * with {@link java.util.ServiceLoader} by {@link DenseNetZooModel#initPretrained}: densenet-keras-import
 * provides one that downloads the published weights (with this module's {@link Download}) and
 * converts them. The zoo model never imports weights itself, and never downloads unless such a
 * provider is on the class path.
 */
public interface PretrainedProvider {

    /**
     * Installs the pretrained model of preset {@code presetId} of {@code type} at {@code target}
     * (written whole and checked before it is renamed there, with its checksum file).
     *
     * @return false when this provider has no such weights
     * @throws IOException naming what failed and the manual step, when it has them but cannot install them
     */
    boolean install(String presetId, PretrainedType type, Path target) throws IOException;
}
