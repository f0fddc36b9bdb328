; Inno Setup script: a per-user installer for trayagent, no admin rights.
;
; Build on Windows with Inno Setup 6.3 or later, after PyInstaller:
;     pyinstaller --noconfirm installers\trayagent.spec
;     iscc /DAppVersion=0.1.0 installers\windows\trayagent.iss
; The version must match trayagent/__init__.py. The result is
; dist\trayagent-VERSION-setup.exe. installers/README.md describes signing.
;
; NOTE: the test suite runs on Linux; it checks that this script writes
; the same Run value as the agent, but does not compile the script.

#ifndef AppVersion
  #error Pass the version: iscc /DAppVersion=X.Y.Z installers\windows\trayagent.iss
#endif
#ifndef DistDir
  #define DistDir "..\..\dist\trayagent"
#endif

; Fixed forever: upgrades find the earlier install by this id.
#define AppId "EE338941-D880-44AA-9A26-6B7AA56D303F"
#define RunKey "Software\Microsoft\Windows\CurrentVersion\Run"
#define ApprovedKey "Software\Microsoft\Windows\CurrentVersion\Explorer\StartupApproved\Run"
; The same value name the agent writes from "trayagent autostart enable".
#define RunValueName "trayagent"

[Setup]
AppId={{{#AppId}}
AppName=trayagent
AppVersion={#AppVersion}
AppVerName=trayagent {#AppVersion}
AppPublisher=trayagent
PrivilegesRequired=lowest
DefaultDirName={localappdata}\Programs\trayagent
DisableDirPage=yes
DisableProgramGroupPage=yes
OutputDir=..\..\dist
OutputBaseFilename=trayagent-{#AppVersion}-setup
SetupIconFile=..\..\icons\trayagent.ico
UninstallDisplayName=trayagent
UninstallDisplayIcon={app}\trayagent.exe
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
WizardStyle=modern
Compression=lzma2
SolidCompression=yes
; The agent is stopped in PrepareToInstall; Restart Manager is the fallback
; for a copy that taskkill could not reach.
CloseApplications=force
RestartApplications=no

[Tasks]
Name: "startatlogin"; Description: "Start trayagent when I log in"

[Files]
Source: "{#DistDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[InstallDelete]
; Files of the previous version that this one no longer ships.
Type: filesandordirs; Name: "{app}\_internal"

[Icons]
Name: "{autoprograms}\trayagent"; Filename: "{app}\trayagent.exe"; Comment: "Reads Thai national ID cards for the clinic's web apps"

[Registry]
Root: HKCU; Subkey: "{#RunKey}"; ValueType: string; ValueName: "{#RunValueName}"; ValueData: """{app}\trayagent.exe"""; Flags: uninsdeletevalue; Tasks: startatlogin; Check: ShouldWriteRunValue

[Run]
Filename: "{app}\trayagent.exe"; Description: "Start trayagent now"; Flags: nowait postinstall

[Code]
function IsUpgrade(): Boolean;
begin
  Result := RegValueExists(HKCU,
    'Software\Microsoft\Windows\CurrentVersion\Uninstall\{{#AppId}}_is1',
    'UninstallString');
end;

function RunValueExists(): Boolean;
begin
  Result := RegValueExists(HKCU, '{#RunKey}', '{#RunValueName}');
end;

{ The start-at-login choice may have changed in the agent since the last
  install, so on an upgrade the task starts from the current Run value, and
  a silent upgrade leaves that value as it is. }
procedure CurPageChanged(CurPageID: Integer);
begin
  if (CurPageID = wpSelectTasks) and IsUpgrade() then
  begin
    if RunValueExists() then
      WizardSelectTasks('startatlogin')
    else
      WizardSelectTasks('!startatlogin');
  end;
end;

function ShouldWriteRunValue(): Boolean;
begin
  Result := not (WizardSilent() and IsUpgrade());
end;

{ Stop every trayagent of this user, so that its files can be replaced or
  deleted. taskkill /F ends it at once; the agent keeps nothing unsaved,
  because it writes its settings as soon as they change. }
procedure StopAgent();
var
  ResultCode: Integer;
begin
  Exec(ExpandConstant('{sys}\taskkill.exe'),
    '/F /IM trayagent.exe /FI "USERNAME eq ' + GetUserNameString() + '"',
    '', SW_HIDE, ewWaitUntilTerminated, ResultCode);
end;

function PrepareToInstall(var NeedsRestart: Boolean): String;
begin
  StopAgent();
  Result := '';
end;

procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
var
  SettingsDir: String;
begin
  if CurUninstallStep = usUninstall then
  begin
    StopAgent();
    { The agent may have written the Run value itself, which the
      uninstall log does not know about. }
    RegDeleteValue(HKCU, '{#RunKey}', '{#RunValueName}');
    RegDeleteValue(HKCU, '{#ApprovedKey}', '{#RunValueName}');
  end;
  if CurUninstallStep = usPostUninstall then
  begin
    { platformdirs puts both the settings and the Logs folder here. }
    SettingsDir := ExpandConstant('{localappdata}\trayagent');
    if DirExists(SettingsDir) and not UninstallSilent() then
    begin
      if MsgBox('Also delete the trayagent settings and logs in ' + SettingsDir + '?' + #13#10#13#10 +
                'Choose No to keep them for a later installation.',
                mbConfirmation, MB_YESNO or MB_DEFBUTTON2) = IDYES then
        DelTree(SettingsDir, True, True, True);
    end;
  end;
end;
