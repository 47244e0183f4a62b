/**
 * gatekeeper: run the build-pipeline integrity gate as a Jenkins pipeline step.
 *
 *   gatekeeper(command: 'check')
 *   gatekeeper(command: 'pr-check', junit: 'reports/gatekeeper.xml')
 *   gatekeeper(command: 'verify', policy: 'policies/release.yaml', args: ['dist/app.tar.gz'])
 *   gatekeeper(command: 'attest', args: ['--stage', 'build', '--key', 'env:GK_KEY',
 *                                        '--product', 'dist/*'])
 *
 * Parameters (all optional):
 *   command    'check' (default), 'pr-check', 'verify' or 'attest'
 *   policy     policy YAML file (required by verify)
 *   base       check / pr-check: the ref to compare with. Default on a multibranch pull
 *              request: origin/$CHANGE_TARGET (fetched first when missing).
 *   store      attest / verify: the attestation store (default $GATEKEEPER_STORE or .gatekeeper)
 *   junit      JUnit XML report path, recorded with the junit step (default
 *              'reports/gatekeeper-<command>.xml'; false to skip, true for the default).
 *              Not for attest.
 *   sarif      also write a SARIF 2.1.0 report to this path (true: 'reports/gatekeeper-
 *              <command>.sarif'; false or absent: none)
 *   json       also write the JSON report to this path (true: 'reports/gatekeeper-
 *              <command>.json'; false or absent: none)
 *   format     the report printed to the build log (default 'text')
 *   args       a List of more arguments, passed as separate words (never through a shell)
 *   failOn     'block' (default): the stage fails when gatekeeper blocks;
 *              'never': a block marks the build UNSTABLE instead (report-only rollout).
 *              Exit codes 2 and 3 (configuration or internal error) always fail the stage.
 *   executable  the gatekeeper command (default 'gatekeeper' on PATH)
 *
 * The report options take a path, or a boolean: true, false (and the strings 'true' and
 * 'false', as build parameters arrive) never become a file named "true" or "false".
 *
 * Returns a Map: [verdict: 'pass'|'block', exitCode: 0..3].
 */
def call(Map params = [:]) {
    String command = params.get('command', 'check')
    if (!(command in ['check', 'pr-check', 'verify', 'attest'])) {
        error("gatekeeper: unknown command '${command}'")
    }
    String failOn = params.get('failOn', 'block')
    if (!(failOn in ['block', 'never'])) {
        error("gatekeeper: failOn must be 'block' or 'never', not '${failOn}'")
    }
    List<String> argv = [params.get('executable', 'gatekeeper'), command]
    boolean reports = command != 'attest'
    if (params.policy) {
        argv += ['--policy', params.policy as String]
    }
    if (params.base && command in ['check', 'pr-check']) {
        argv += ['--base', params.base as String]
    } else if (!params.base && env.CHANGE_TARGET && env.CHANGE_ID && command in ['check', 'pr-check']) {
        // gatekeeper defaults --base to origin/$CHANGE_TARGET; make sure that ref exists.
        sh(label: 'gatekeeper: fetch the target branch',
           script: 'git fetch --no-tags origin "+refs/heads/$CHANGE_TARGET:refs/remotes/origin/$CHANGE_TARGET"')
    }
    if (params.store && command in ['attest', 'verify']) {
        argv += ['--store', params.store as String]
    }
    String junitFile = null
    if (reports) {
        junitFile = reportPath(params, 'junit', "reports/gatekeeper-${command}.xml", true)
        String sarifFile = reportPath(params, 'sarif', "reports/gatekeeper-${command}.sarif", false)
        String jsonFile = reportPath(params, 'json', "reports/gatekeeper-${command}.json", false)
        if (junitFile) {
            argv += ['--format', 'junit', '--output', junitFile]
        }
        if (sarifFile) {
            argv += ['--format', 'sarif', '--output', sarifFile]
        }
        if (jsonFile) {
            argv += ['--format', 'json', '--output', jsonFile]
        }
        argv += ['--format', params.get('format', 'text') as String]
    }
    argv += (params.get('args', []) as List).collect { it as String }

    // SECURITY: every word is single-quoted for the shell, so a value (a branch name, a
    // parameter) can never become shell syntax.
    String script = argv.collect { shellQuote(it) }.join(' ')
    int status = 0
    try {
        status = sh(label: "gatekeeper ${command}", script: script, returnStatus: true)
    } finally {
        if (junitFile) {
            junit(testResults: junitFile, allowEmptyResults: status > 1)
        }
    }
    Map result = [verdict: status == 0 ? 'pass' : 'block', exitCode: status]
    if (status == 1 && failOn == 'never') {
        unstable("gatekeeper ${command}: blocked (failOn: never)")
    } else if (status == 1) {
        error("gatekeeper ${command}: blocked; see the report above and the test results")
    } else if (status != 0) {
        error("gatekeeper ${command}: exit code ${status} (configuration or internal error); the gate fails closed")
    }
    return result
}

/**
 * A report option: null when there is no report, else its path. A boolean (or the string
 * 'true' / 'false') switches the report on at ``byDefault`` or off; absent means
 * ``onByDefault``. Anything but a path or a boolean is an error, never a file name.
 */
@NonCPS
static String reportPath(Map params, String name, String byDefault, boolean onByDefault) {
    if (!params.containsKey(name)) {
        return onByDefault ? byDefault : null
    }
    def value = params.get(name)
    if (value == null) {
        return null
    }
    if (value instanceof Boolean) {
        return value ? byDefault : null
    }
    if (!(value instanceof CharSequence)) {
        throw new IllegalArgumentException(
            "gatekeeper: ${name} must be a path or a boolean, not ${value.getClass().simpleName}")
    }
    String text = value.toString().trim()
    if (text == '' || text.equalsIgnoreCase('false')) {
        return null
    }
    return text.equalsIgnoreCase('true') ? byDefault : text
}

@NonCPS
static String shellQuote(String word) {
    return "'" + word.replace("'", "'\\''") + "'"
}
