export type Maybe<T> = T | null;
export type InputMaybe<T> = Maybe<T>;
/** All built-in and custom scalars, mapped to their actual values */
export type Scalars = {
  ID: { input: string; output: string; }
  String: { input: string; output: string; }
  Boolean: { input: boolean; output: boolean; }
  Int: { input: number; output: number; }
  Float: { input: number; output: number; }
  /**
   * Implement the DateTime<Utc> scalar
   *
   * The input/output is a string in RFC3339 format.
   */
  DateTime: { input: string; output: string; }
  /** A scalar that can represent any JSON value. */
  JSON: { input: unknown; output: unknown; }
};

export type Approval = Node & {
  __typename?: 'Approval';
  /** Decimal amount, for money forms. */
  amount?: Maybe<Scalars['String']['output']>;
  /** Set by `approvalAsOf`: the instant this state is taken at. */
  asOf?: Maybe<Scalars['DateTime']['output']>;
  attachments: Scalars['JSON']['output'];
  /** Field values by key, as the form defines them. */
  body: Scalars['JSON']['output'];
  /** 참조 */
  cc: Array<Employee>;
  comments: Array<CommentOut>;
  completedAt?: Maybe<Scalars['DateTime']['output']>;
  /** Whoever may decide right now. */
  currentApprovers: Array<Employee>;
  /** The raw document id (UUID) the command API takes. */
  documentId: Scalars['String']['output'];
  draftedAt: Scalars['DateTime']['output'];
  drafter?: Maybe<Employee>;
  drafterId: Scalars['String']['output'];
  formId: Scalars['String']['output'];
  formVersion: Scalars['Int']['output'];
  /** The reason of a hold (보류), while held. */
  holdReason?: Maybe<Scalars['String']['output']>;
  id: Scalars['ID']['output'];
  leaveDays?: Maybe<Scalars['String']['output']>;
  /** Document number (문서번호), once finally approved. */
  number?: Maybe<Scalars['String']['output']>;
  /** 수신 departments. */
  receivers: Array<Department>;
  /** 1 for the first submission; +1 per 재상신. */
  revision: Scalars['Int']['output'];
  status: ApprovalStatus;
  /** The approval line (결재선) with each step's state and decisions. */
  steps: Array<ApprovalStep>;
  submittedAt?: Maybe<Scalars['DateTime']['output']>;
  /** Every event of the document up to this state, oldest first. */
  timeline: Array<TimelineEvent>;
  title: Scalars['String']['output'];
  updatedAt: Scalars['DateTime']['output'];
  /** The stream version this state reflects (use as `If-Match`). */
  version: Scalars['Int']['output'];
};

export type ApprovalConnection = {
  __typename?: 'ApprovalConnection';
  /** A list of edges. */
  edges: Array<ApprovalEdge>;
  /** A list of nodes. */
  nodes: Array<Approval>;
  /** Information to aid in pagination. */
  pageInfo: PageInfo;
};

/** An edge in a connection. */
export type ApprovalEdge = {
  __typename?: 'ApprovalEdge';
  /** A cursor for use in pagination */
  cursor: Scalars['String']['output'];
  /** The item at the end of the edge */
  node: Approval;
};

/** Narrows `approvals`. */
export type ApprovalFilter = {
  /** Documents with this employee anywhere on the line. */
  approverId?: InputMaybe<Scalars['ID']['input']>;
  drafterId?: InputMaybe<Scalars['ID']['input']>;
  /** Form id (any version): general, expense, leave, purchase. */
  formId?: InputMaybe<Scalars['String']['input']>;
  status?: InputMaybe<ApprovalStatus>;
  /** Submitted at or after. */
  submittedFrom?: InputMaybe<Scalars['DateTime']['input']>;
  /** Submitted at or before. */
  submittedUntil?: InputMaybe<Scalars['DateTime']['input']>;
  /** Part of the title, case-insensitive. */
  text?: InputMaybe<Scalars['String']['input']>;
};

/** Document status (문서 상태). */
export type ApprovalStatus =
  /** 완료 */
  | 'APPROVED'
  | 'DISCARDED'
  /** 임시저장 */
  | 'DRAFT'
  /** 진행 */
  | 'IN_PROGRESS'
  /** 보류 */
  | 'ON_HOLD'
  /** 반려 */
  | 'REJECTED'
  /** 회수 */
  | 'WITHDRAWN';

/** One step of the approval line (결재선). */
export type ApprovalStep = {
  __typename?: 'ApprovalStep';
  /** This approver may approve as final (전결권). */
  finalAuthority: Scalars['Boolean']['output'];
  index: Scalars['Int']['output'];
  kind: StepKind;
  /** Each seat with its decision, if made. */
  members: Array<StepMember>;
  /** Agreements needed to pass (1 for a 결재 step). */
  required: Scalars['Int']['output'];
  state: StepState;
};

/** A change of one document. */
export type ApprovalUpdate = {
  __typename?: 'ApprovalUpdate';
  correlationId?: Maybe<Scalars['String']['output']>;
  documentId: Scalars['String']['output'];
  events: Array<Scalars['String']['output']>;
  position?: Maybe<Scalars['String']['output']>;
  resync: Scalars['Boolean']['output'];
  status?: Maybe<Scalars['String']['output']>;
  version?: Maybe<Scalars['Int']['output']>;
};

/** How many documents a box holds. */
export type BoxCount = {
  __typename?: 'BoxCount';
  count: Scalars['Int']['output'];
  inbox: InboxBox;
};

/** A comment (의견). */
export type CommentOut = {
  __typename?: 'CommentOut';
  at: Scalars['DateTime']['output'];
  byEmployeeId: Scalars['String']['output'];
  id: Scalars['String']['output'];
  revision: Scalars['Int']['output'];
  text: Scalars['String']['output'];
};

/** A decision on a step. */
export type Decision = {
  __typename?: 'Decision';
  at: Scalars['DateTime']['output'];
  /** Who acted: the seat holder or their proxy (대결). */
  byEmployeeId: Scalars['String']['output'];
  /** 전결 */
  finalAuthority: Scalars['Boolean']['output'];
  proxy: Scalars['Boolean']['output'];
  verdict: VerdictOut;
};

export type Department = Node & {
  __typename?: 'Department';
  /** Sub-departments, by name. */
  children: Array<Department>;
  closed: Scalars['Boolean']['output'];
  code: Scalars['String']['output'];
  departmentId: Scalars['String']['output'];
  head?: Maybe<Employee>;
  id: Scalars['ID']['output'];
  /** Active members, by name. */
  members: Array<Employee>;
  name: Scalars['String']['output'];
  parent?: Maybe<Department>;
  version: Scalars['Int']['output'];
};

export type Employee = Node & {
  __typename?: 'Employee';
  active: Scalars['Boolean']['output'];
  department?: Maybe<Department>;
  email: Scalars['String']['output'];
  /** The raw employee id (UUID) the command API takes. */
  employeeId: Scalars['String']['output'];
  id: Scalars['ID']['output'];
  manager?: Maybe<Employee>;
  name: Scalars['String']['output'];
  positionTitle?: Maybe<Scalars['String']['output']>;
  rank: Scalars['Int']['output'];
  /** snake_case role names: employee, manager, hr_admin, auditor. */
  roles: Array<Scalars['String']['output']>;
  version: Scalars['Int']['output'];
};

export type EmployeeConnection = {
  __typename?: 'EmployeeConnection';
  /** A list of edges. */
  edges: Array<EmployeeEdge>;
  /** A list of nodes. */
  nodes: Array<Employee>;
  /** Information to aid in pagination. */
  pageInfo: PageInfo;
};

/** An edge in a connection. */
export type EmployeeEdge = {
  __typename?: 'EmployeeEdge';
  /** A cursor for use in pagination */
  cursor: Scalars['String']['output'];
  /** The item at the end of the edge */
  node: Employee;
};

/** Narrows `employees`. */
export type EmployeeFilterInput = {
  active?: InputMaybe<Scalars['Boolean']['input']>;
  departmentId?: InputMaybe<Scalars['ID']['input']>;
  /** Part of the name or email. */
  text?: InputMaybe<Scalars['String']['input']>;
};

/** A form template for the compose screen. */
export type Form = {
  __typename?: 'Form';
  amountField?: Maybe<Scalars['String']['output']>;
  /** Field definitions: key, labels, type with constraints, required. */
  fields: Scalars['JSON']['output'];
  id: Scalars['String']['output'];
  /** general, expense, leave, purchase. */
  kind: Scalars['String']['output'];
  leaveDaysField?: Maybe<Scalars['String']['output']>;
  nameEn: Scalars['String']['output'];
  nameKo: Scalars['String']['output'];
  /** Document-number prefix. */
  prefix: Scalars['String']['output'];
  version: Scalars['Int']['output'];
};

/** The boxes of a personal inbox (결재함). */
export type InboxBox =
  /** 참조 */
  | 'CC'
  /** 완료 */
  | 'COMPLETED'
  /** 임시저장 */
  | 'DRAFTS'
  /** 진행: mine or decided by me, still in progress. */
  | 'IN_PROGRESS'
  /** 대기: waiting for my decision. */
  | 'PENDING'
  /** 수신: my department receives it. */
  | 'RECEIVED'
  /** 반려 */
  | 'REJECTED'
  /** 예정: I am on a later step. */
  | 'UPCOMING';

/** A document moved in or out of one of the viewer's boxes. */
export type InboxChange = {
  __typename?: 'InboxChange';
  correlationId?: Maybe<Scalars['String']['output']>;
  /** Every box of the viewer with its count after the change. */
  counts: Array<InboxCount>;
  documentId?: Maybe<Scalars['String']['output']>;
  /** The commit's event types, e.g. `approval.approved`. */
  events: Array<Scalars['String']['output']>;
  position?: Maybe<Scalars['String']['output']>;
  resync: Scalars['Boolean']['output'];
  status?: Maybe<Scalars['String']['output']>;
  title?: Maybe<Scalars['String']['output']>;
};

/**
 * A box count (named apart from the query API's `BoxCount`, whose box is an enum, so the
 * two schemas merge for clients).
 */
export type InboxCount = {
  __typename?: 'InboxCount';
  count: Scalars['Int']['output'];
  /** pending, upcoming, in_progress, completed, rejected, cc, received, drafts. */
  inbox: Scalars['String']['output'];
};

/** One row of an inbox box. */
export type InboxEntry = {
  __typename?: 'InboxEntry';
  documentId: Scalars['String']['output'];
  drafter?: Maybe<Employee>;
  drafterId: Scalars['String']['output'];
  /** The document's global id, for `node(id:)`/`approval(id:)`. */
  id: Scalars['ID']['output'];
  status: Scalars['String']['output'];
  title: Scalars['String']['output'];
  updatedAt: Scalars['String']['output'];
};

export type InboxEntryConnection = {
  __typename?: 'InboxEntryConnection';
  /** A list of edges. */
  edges: Array<InboxEntryEdge>;
  /** A list of nodes. */
  nodes: Array<InboxEntry>;
  /** Information to aid in pagination. */
  pageInfo: PageInfo;
};

/** An edge in a connection. */
export type InboxEntryEdge = {
  __typename?: 'InboxEntryEdge';
  /** A cursor for use in pagination */
  cursor: Scalars['String']['output'];
  /** The item at the end of the edge */
  node: InboxEntry;
};

/** An inbox box with its entries and the counts of every box. */
export type InboxResult = {
  __typename?: 'InboxResult';
  /** Every box of the viewer with its count (0 included). */
  counts: Array<BoxCount>;
  entries: InboxEntryConnection;
};

/** Leave balance and ledger of an employee. */
export type LeaveBalance = {
  __typename?: 'LeaveBalance';
  /** Days left, decimal. */
  balance: Scalars['String']['output'];
  employeeId: Scalars['String']['output'];
  entries: Array<LeaveEntryOut>;
  used: Scalars['String']['output'];
};

export type LeaveEntryOut = {
  __typename?: 'LeaveEntryOut';
  at: Scalars['String']['output'];
  days: Scalars['String']['output'];
  documentId?: Maybe<Scalars['String']['output']>;
  kind: Scalars['String']['output'];
  reason?: Maybe<Scalars['String']['output']>;
  version: Scalars['Int']['output'];
};

/** A suggested line (결재선) from the line rule. */
export type LineSuggestion = {
  __typename?: 'LineSuggestion';
  /** The line as the command API takes it (`line` of a draft). */
  line: Scalars['JSON']['output'];
  ruleId: Scalars['String']['output'];
  ruleVersion: Scalars['Int']['output'];
  steps: Array<ApprovalStep>;
};

/** Anything with a global id, fetchable by `node(id:)`. */
export type Node = {
  id: Scalars['ID']['output'];
};

/** One notification of the viewer's feed. */
export type Notification = {
  __typename?: 'Notification';
  at: Scalars['String']['output'];
  documentId: Scalars['String']['output'];
  id: Scalars['String']['output'];
  /** Why: approval_requested, approved, rejected, ... */
  kind: Scalars['String']['output'];
  read: Scalars['Boolean']['output'];
  title: Scalars['String']['output'];
};

/**
 * One notification, live or replayed on resume. `resync` means the connection fell behind:
 * entries were missed; re-read the feed (query API) or resubscribe with the last cursor.
 */
export type NotificationEvent = {
  __typename?: 'NotificationEvent';
  at?: Maybe<Scalars['String']['output']>;
  correlationId?: Maybe<Scalars['String']['output']>;
  /** Resume point: pass it as `after` to continue after this entry. */
  cursor?: Maybe<Scalars['String']['output']>;
  documentId?: Maybe<Scalars['String']['output']>;
  id?: Maybe<Scalars['String']['output']>;
  /** approval_requested, approved, rejected, ... */
  kind?: Maybe<Scalars['String']['output']>;
  /** Log position of the commit (empty for entries replayed from the feed). */
  position?: Maybe<Scalars['String']['output']>;
  /** Delivered from the persisted feed on resume, not live. */
  replayed: Scalars['Boolean']['output'];
  resync: Scalars['Boolean']['output'];
  title?: Maybe<Scalars['String']['output']>;
};

/** Information about pagination in a connection */
export type PageInfo = {
  __typename?: 'PageInfo';
  /** When paginating forwards, the cursor to continue. */
  endCursor?: Maybe<Scalars['String']['output']>;
  /** When paginating forwards, are there more items? */
  hasNextPage: Scalars['Boolean']['output'];
  /** When paginating backwards, are there more items? */
  hasPreviousPage: Scalars['Boolean']['output'];
  /** When paginating backwards, the cursor to continue. */
  startCursor?: Maybe<Scalars['String']['output']>;
};

/** How far a projection is behind the log. */
export type ProjectionLag = {
  __typename?: 'ProjectionLag';
  eventsBehind: Scalars['Int']['output'];
  projection: Scalars['String']['output'];
  /** Age of the oldest commit not yet applied; 0 when caught up. */
  secondsBehind: Scalars['Int']['output'];
};

export type Query = {
  __typename?: 'Query';
  /**
   * One document, with line, recipients, comments and timeline; null when it does not
   * exist or the viewer may not see it (the two are not told apart).
   */
  approval?: Maybe<Approval>;
  /**
   * The document as it stood at `at`, folded from its events in the log. Null before it
   * was drafted, or when the viewer may not see the document (as it is now).
   */
  approvalAsOf?: Maybe<Approval>;
  /** Documents the viewer may see, newest first. */
  approvals: ApprovalConnection;
  /** Every department, by name. */
  departments: Array<Department>;
  employee?: Maybe<Employee>;
  /** The employee directory, by name. */
  employees: EmployeeConnection;
  /** Form templates with their field definitions, for the compose screen. */
  forms: Array<Form>;
  /** One box of the viewer's inbox (결재함), newest first, with the counts of every box. */
  inbox: InboxResult;
  /** Leave balance and ledger: the viewer's own, or anyone's for HR admins and auditors. */
  leaveBalance?: Maybe<LeaveBalance>;
  /** The signed-in employee. */
  me: Employee;
  /** Any object by its global id; null when it does not exist or is not visible. */
  node?: Maybe<Node>;
  /** The viewer's notification feed, newest first. */
  notifications: Array<Notification>;
  /** The open top-level departments; walk `children` and `members` for the tree. */
  orgChart: Array<Department>;
  /** How far each projection is behind the log. */
  projectionStatus: Array<ProjectionLag>;
  /** Subscriptions live on this endpoint; queries on the query API. */
  subscriptionsOnly: Scalars['Boolean']['output'];
  /** The line the standard rule suggests for the viewer drafting `formId` over `amount`. */
  suggestLine: LineSuggestion;
};


export type QueryApprovalArgs = {
  id: Scalars['ID']['input'];
};


export type QueryApprovalAsOfArgs = {
  at: Scalars['DateTime']['input'];
  id: Scalars['ID']['input'];
};


export type QueryApprovalsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  filter?: InputMaybe<ApprovalFilter>;
  first?: InputMaybe<Scalars['Int']['input']>;
};


export type QueryEmployeeArgs = {
  id: Scalars['ID']['input'];
};


export type QueryEmployeesArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  filter?: InputMaybe<EmployeeFilterInput>;
  first?: InputMaybe<Scalars['Int']['input']>;
};


export type QueryInboxArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  box: InboxBox;
  first?: InputMaybe<Scalars['Int']['input']>;
  text?: InputMaybe<Scalars['String']['input']>;
};


export type QueryLeaveBalanceArgs = {
  employeeId?: InputMaybe<Scalars['ID']['input']>;
};


export type QueryNodeArgs = {
  id: Scalars['ID']['input'];
};


export type QueryNotificationsArgs = {
  first?: InputMaybe<Scalars['Int']['input']>;
};


export type QuerySuggestLineArgs = {
  amount?: InputMaybe<Scalars['String']['input']>;
  formId: Scalars['String']['input'];
  leaveDays?: InputMaybe<Scalars['String']['input']>;
};

/** The kind of a line step. */
export type StepKind =
  /** 합의: a parallel agreement group. */
  | 'AGREEMENT'
  /** 결재: one approver, in sequence. */
  | 'APPROVAL';

/** A seat on a step. */
export type StepMember = {
  __typename?: 'StepMember';
  decision?: Maybe<Decision>;
  employee?: Maybe<Employee>;
  employeeId: Scalars['String']['output'];
};

/** Where a step stands in the current revision. */
export type StepState =
  | 'CURRENT'
  | 'DONE'
  /** The document ended (rejected, withdrawn) before this step decided. */
  | 'NOT_REACHED'
  /** Passed over by 전결 at an earlier step. */
  | 'SKIPPED'
  | 'UPCOMING';

export type Subscription = {
  __typename?: 'Subscription';
  /** Each change of one document the viewer may see. */
  approvalUpdated: ApprovalUpdate;
  /**
   * A document entered or left one of the viewer's boxes (or changed in it), with every
   * box count after the change.
   */
  inboxChanged: InboxChange;
  /**
   * New entries of the viewer's notification feed. With `after` (a cursor from an earlier
   * event), the entries since then come first from the persisted feed, then live ones,
   * with no gap and no duplicate.
   */
  myNotifications: NotificationEvent;
};


export type SubscriptionApprovalUpdatedArgs = {
  id: Scalars['ID']['input'];
};


export type SubscriptionMyNotificationsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
};

/** One event in a document's history. */
export type TimelineEvent = {
  __typename?: 'TimelineEvent';
  /** The event type, e.g. `approval.approved`. */
  action: Scalars['String']['output'];
  actor?: Maybe<Employee>;
  actorId: Scalars['String']['output'];
  at: Scalars['String']['output'];
  /** Comment, reason or assigned number, as the action carries. */
  note?: Maybe<Scalars['String']['output']>;
  version: Scalars['Int']['output'];
};

/** A seat holder's vote. */
export type VerdictOut =
  | 'AGREE'
  | 'DISAGREE';
