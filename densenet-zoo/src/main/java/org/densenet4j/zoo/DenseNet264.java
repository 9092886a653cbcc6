package org.densenet4j.zoo;

import java.util.function.UnaryOperator;

/** DenseNet-264 in DL4J's zoo API; see {@link DenseNetPreset#DENSENET264}. */
public class DenseNet264 extends DenseNetZooModel {

    /** DenseNet-264 with 1000 classes and a 224x224x3 input. */
    public DenseNet264() {
        super(DenseNetPreset.DENSENET264, UnaryOperator.identity());
    }

    /** DenseNet-264 changed by {@code customise}, e.g. {@code c -> c.numClasses(10)}. */
    public DenseNet264(UnaryOperator<DenseNetConfig.Builder> customise) {
        super(DenseNetPreset.DENSENET264, customise);
    }
}
