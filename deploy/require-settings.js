/**
 * Refuses to package or deploy a stage other than `local`/`test` while a required setting is
 * missing, naming each one, instead of building a template that points at laptop defaults.
 * The required settings are `custom.requiredSettings` in serverless.yml (an empty value = missing).
 */

const LOCAL_STAGES = new Set(['local', 'test']);

class RequireSettings {
  constructor(serverless, options) {
    this.serverless = serverless;
    this.options = options;
    const check = () => this.check();
    this.hooks = {
      'before:package:initialize': check,
      'before:deploy:deploy': check,
      'before:deploy:function:initialize': check,
    };
  }

  check() {
    const stage = this.serverless.getProvider('aws').getStage();
    if (LOCAL_STAGES.has(stage)) return;
    const settings = this.serverless.service.custom?.requiredSettings ?? {};
    const missing = Object.entries(settings)
      .filter(([, value]) => value === undefined || value === null || String(value).trim() === '')
      .map(([name]) => name);
    if (missing.length === 0) return;
    throw new this.serverless.classes.Error(
      [
        `Stage "${stage}" is missing ${missing.length === 1 ? 'a required setting' : 'required settings'}: ${missing.join(', ')}.`,
        `Pass each one as ${missing.map((name) => `--param="${name}=..."`).join(' ')}`,
        '(docs/DEPLOY.md lists every setting). Only the local and test stages have defaults.',
      ].join('\n'),
    );
  }
}

module.exports = RequireSettings;
