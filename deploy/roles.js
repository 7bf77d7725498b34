/**
 * Completes the per-function roles of serverless-iam-roles-per-function: when tracing is on, each
 * role may write X-Ray segments (the plugin starts every role from an empty statement list), and
 * the shared role the framework still creates is dropped once no function uses it.
 */

class Roles {
  constructor(serverless) {
    this.serverless = serverless;
    // After serverless-iam-roles-per-function (listed before this plugin), which builds the roles in
    // the same hook; later than this the template is already written.
    this.hooks = { 'before:package:finalize': () => this.finish() };
  }

  finish() {
    const { provider } = this.serverless.service;
    const resources = provider.compiledCloudFormationTemplate.Resources;
    const shared = this.serverless.getProvider('aws').naming.getRoleLogicalId();
    const tracing = provider.tracing?.lambda;
    const traced = tracing === true || tracing === 'Active';
    for (const [id, resource] of Object.entries(resources)) {
      if (resource.Type !== 'AWS::IAM::Role' || id === shared) continue;
      if (traced) {
        resource.Properties.Policies[0].PolicyDocument.Statement.push({
          Effect: 'Allow',
          Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'],
          Resource: '*',
        });
      }
    }
    const rest = JSON.stringify(Object.entries(resources).filter(([id]) => id !== shared));
    if (resources[shared] && !rest.includes(`"${shared}"`)) delete resources[shared];
  }
}

module.exports = Roles;
