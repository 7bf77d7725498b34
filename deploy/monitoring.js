/**
 * What serverless.yml cannot say without repeating itself once per function: a throttle alarm for
 * each function, and the CloudWatch dashboard of the sale. The other alarms are in serverless.yml.
 * Custom metrics (namespace `Seckill`, dimension `service` = `<service>-<stage>`) come from
 * lib/metrics.ts in embedded metric format.
 */

const NAMESPACE = 'Seckill';
const OUTCOMES = ['granted', 'sold-out', 'already-owned', 'not-found', 'refused', 'failed'];
// Placeholders of the dashboard body, filled in by CloudFormation (Fn::Sub).
// biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudFormation Fn::Sub placeholder
const REGION = '${AWS::Region}';
// biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudFormation Fn::Sub placeholder
const API_ID = '${HttpApi}';

class Monitoring {
  constructor(serverless) {
    this.serverless = serverless;
    // Before the framework writes the template at `package:finalize`.
    this.hooks = { 'before:package:finalize': () => this.addMonitoring() };
  }

  addMonitoring() {
    const { service } = this.serverless;
    const aws = this.serverless.getProvider('aws');
    const naming = aws.naming;
    const stage = aws.getStage();
    const prefix = `${service.service}-${stage}`;
    const resources = service.provider.compiledCloudFormationTemplate.Resources;
    const functions = service.getAllFunctions().map((key) => ({
      key,
      name: service.getFunction(key).name,
      logicalId: naming.getLambdaLogicalId(key),
    }));

    for (const fn of functions) {
      resources[`${naming.getNormalizedFunctionName(fn.key)}ThrottlesAlarm`] = {
        Type: 'AWS::CloudWatch::Alarm',
        Properties: {
          AlarmName: `${fn.name}-throttles`,
          AlarmDescription: `Invocations of ${fn.key} were throttled (account or reserved concurrency reached).`,
          Namespace: 'AWS/Lambda',
          MetricName: 'Throttles',
          Dimensions: [{ Name: 'FunctionName', Value: { Ref: fn.logicalId } }],
          Statistic: 'Sum',
          Period: 60,
          EvaluationPeriods: 1,
          Threshold: 1,
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
          TreatMissingData: 'notBreaching',
          AlarmActions: [{ Ref: 'AlarmTopic' }],
          OKActions: [{ Ref: 'AlarmTopic' }],
        },
      };
    }

    const consumer = functions.find((f) => f.key === 'persistPurchases')?.name;
    const queue = `${prefix}-purchases`;
    const dlq = `${prefix}-purchases-dlq`;
    const dim = ['service', prefix];
    const widget = (title, metrics, extra = {}) => ({
      type: 'metric',
      width: 12,
      height: 6,
      properties: { title, region: REGION, period: 60, stat: 'Sum', view: 'timeSeries', metrics, ...extra },
    });
    const widgets = [
      widget(
        'Grabs by outcome (per minute)',
        OUTCOMES.map((outcome) => [NAMESPACE, 'Grabs', ...dim, 'outcome', outcome]),
        { stacked: true },
      ),
      widget('Grabs released after a failed send', [
        [NAMESPACE, 'SendsFailed', ...dim],
        [NAMESPACE, 'GrabsReleased', ...dim],
      ]),
      widget('Purchase queue: depth', [
        ['AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'QueueName', queue, { stat: 'Maximum' }],
        ['AWS/SQS', 'ApproximateNumberOfMessagesNotVisible', 'QueueName', queue, { stat: 'Maximum' }],
        ['AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'QueueName', dlq, { stat: 'Maximum', label: 'dead letters' }],
      ]),
      widget('Purchase queue: age of the oldest message (s)', [
        ['AWS/SQS', 'ApproximateAgeOfOldestMessage', 'QueueName', queue, { stat: 'Maximum' }],
      ]),
      widget('Consumer: purchases persisted and batch size', [
        [NAMESPACE, 'PurchasesPersisted', ...dim],
        [NAMESPACE, 'BatchSize', ...dim, { stat: 'Average', yAxis: 'right' }],
        [NAMESPACE, 'BatchSize', ...dim, { stat: 'Maximum', yAxis: 'right' }],
      ]),
      widget('Consumer: batch duration (ms) and concurrency', [
        ['AWS/Lambda', 'Duration', 'FunctionName', consumer, { stat: 'Average' }],
        ['AWS/Lambda', 'Duration', 'FunctionName', consumer, { stat: 'p99' }],
        ['AWS/Lambda', 'ConcurrentExecutions', 'FunctionName', consumer, { stat: 'Maximum', yAxis: 'right' }],
      ]),
      widget('Errors', [
        ['AWS/ApiGateway', '5xx', 'ApiId', API_ID],
        ['AWS/ApiGateway', '4xx', 'ApiId', API_ID],
        [NAMESPACE, 'PurchaseFailures', ...dim],
        [NAMESPACE, 'BatchFailures', ...dim],
        ...functions.map((f) => ['AWS/Lambda', 'Errors', 'FunctionName', f.name]),
      ]),
      widget('Throttles and rebuilds', [
        ...functions.map((f) => ['AWS/Lambda', 'Throttles', 'FunctionName', f.name]),
        [NAMESPACE, 'Rebuilds', ...dim],
      ]),
      widget('API: requests and latency', [
        ['AWS/ApiGateway', 'Count', 'ApiId', API_ID],
        ['AWS/ApiGateway', 'Latency', 'ApiId', API_ID, { stat: 'p99', yAxis: 'right' }],
      ]),
    ];
    resources.SaleDashboard = {
      Type: 'AWS::CloudWatch::Dashboard',
      Properties: {
        DashboardName: `${prefix}-sale`,
        DashboardBody: { 'Fn::Sub': JSON.stringify({ widgets }) },
      },
    };
  }
}

module.exports = Monitoring;
